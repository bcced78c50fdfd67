package envelope_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update. Files hold hex, 32 bytes a line,
// so a diff shows where the encoding moved.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	var b strings.Builder
	for i := 0; i < len(got); i += 32 {
		b.WriteString(hex.EncodeToString(got[i:min(i+32, len(got))]))
		b.WriteByte('\n')
	}
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), b.String(), "encoding of %s changed; if on purpose, go test -update", name)
}

func sampleRequest() *envelopev1.Envelope {
	return &envelopev1.Envelope{
		MessageId:        "5b0d8f7e-2c1a-4c55-9a40-1f3e0f4a9b21",
		CorrelationId:    "5b0d8f7e-2c1a-4c55-9a40-1f3e0f4a9b21",
		ServiceId:        "GUARDIANSHIP_CERTIFICATE",
		ServiceVersion:   "1",
		Sender:           "portal",
		Type:             envelopev1.MessageType_MESSAGE_TYPE_REQUEST,
		MessageDate:      timestamppb.New(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)),
		UserId:           "KZ900101300126",
		ConsentConfirmed: true,
		Region:           "55",
		Attachments: []*envelopev1.Attachment{{
			Name: "свидетельство.pdf", MediaType: "application/pdf", Size: 48213,
			Sha256: bytes.Repeat([]byte{0xab}, 32), ObjectKey: "sha256/abab",
		}},
		Properties:  map[string]string{"lang": "ru", "channel": "portal", "b": "2", "a": "1"},
		PayloadType: "egov.application.v1.Application",
		Payload:     []byte(`{"child_iin":"150505600017"}`),
	}
}

func TestGoldenEncoding(t *testing.T) {
	t.Parallel()
	req := sampleRequest()
	b, err := envelope.Marshal(req)
	require.NoError(t, err)
	golden(t, "request.envelope.hex", b)

	resp := &envelopev1.Envelope{
		MessageId: "9c4e", CorrelationId: req.GetCorrelationId(), SessionId: "shep-000001",
		ServiceId: req.GetServiceId(), Sender: "rshep-55", Recipient: "portal",
		Type:        envelopev1.MessageType_MESSAGE_TYPE_RESPONSE,
		MessageDate: timestamppb.New(time.Date(2026, 3, 2, 9, 30, 1, 0, time.UTC)),
		RequestHash: envelope.Hash(b),
		Status:      &envelopev1.Status{Code: shepv1.CodeSuccess, Message: "Сообщение успешно обработано"},
	}
	rb, err := envelope.Marshal(resp)
	require.NoError(t, err)
	golden(t, "response.envelope.hex", rb)
}

func TestMarshalIsDeterministicAndRoundTrips(t *testing.T) {
	t.Parallel()
	first, err := envelope.Marshal(sampleRequest())
	require.NoError(t, err)
	for range 50 {
		again, err := envelope.Marshal(sampleRequest())
		require.NoError(t, err)
		require.Equal(t, first, again, "map order must not change the bytes")
	}
	got, err := envelope.Unmarshal(first)
	require.NoError(t, err)
	require.True(t, proto.Equal(sampleRequest(), got))
}

func TestUnmarshalRejects(t *testing.T) {
	t.Parallel()
	tests := map[string][]byte{
		"fail/truncated": {0x0a, 0x20, 'a'},
		"fail/bad tag":   {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"fail/oversize":  make([]byte, envelope.MaxSize+1),
		"fail/bad utf-8": {0x0a, 0x02, 0xff, 0xfe},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := envelope.Unmarshal(b)
			require.ErrorIs(t, err, envelope.ErrMalformed)
		})
	}
	big := sampleRequest()
	big.Payload = make([]byte, envelope.MaxSize)
	_, err := envelope.Marshal(big)
	require.ErrorContains(t, err, "limit")
}

func FuzzUnmarshal(f *testing.F) {
	b, err := envelope.Marshal(sampleRequest())
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.Unmarshal(b)
		if err != nil {
			return
		}
		if _, err := envelope.Marshal(e); err != nil && !strings.Contains(err.Error(), "limit") {
			t.Fatalf("a decoded envelope must encode again: %v", err)
		}
	})
}
