package shep_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/mtls"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// rawBytes is sent as it is, whatever it holds.
type rawBytes []byte

// rawCodec sends rawBytes unencoded and everything else as proto.
type rawCodec struct{ proto encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(rawBytes); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.proto.Marshal(v)
}
func (c rawCodec) Unmarshal(d mem.BufferSlice, v any) error { return c.proto.Unmarshal(d, v) }
func (c rawCodec) Name() string                             { return protoenc.Name }

// TestSyncUndecodableAndOversized: bytes that are no request and an envelope over the size ШЭП takes get
// ШЭП's signed rejection, as every other fault of the sync channel does; only a request over the hard
// bound on the wire (8 MiB) is refused by the transport, unread.
func TestSyncUndecodableAndOversized(t *testing.T) {
	t.Parallel()
	s := start(t)
	conn := s.conn(t, "portal")
	codec := rawCodec{encoding.GetCodecV2(protoenc.Name)}
	wire := func(se *envelopev1.SignedEnvelope) rawBytes {
		b, err := proto.Marshal(&shepv1.SendMessageRequest{Envelope: se})
		require.NoError(t, err)
		return b
	}
	undecodable := rawBytes{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f} // a field whose length runs past the end
	oversized := &envelopev1.SignedEnvelope{Envelope: make([]byte, 5<<20), Signature: []byte{1}}

	tests := []struct {
		name        string
		req         rawBytes
		requestHash []byte
		code        string
	}{
		{"fail/undecodable request bytes", undecodable, envelope.Hash(undecodable), shepv1.CodeMalformed},
		{"fail/garbage", rawBytes("not a protobuf at all"), envelope.Hash([]byte("not a protobuf at all")), shepv1.CodeMalformed},
		{"fail/oversized envelope (5 MiB)", wire(oversized), envelope.Hash(oversized.GetEnvelope()), shepv1.CodeOversize},
	}
	verifier := s.ca.Verifier(t, s.ca.Checker(time.Minute))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &shepv1.SendMessageResponse{}
			err := conn.Invoke(t.Context(), shepv1.SyncChannelService_SendMessage_FullMethodName, tt.req, out, grpc.ForceCodecV2(codec))
			require.NoError(t, err, "a rejection is an answer, not a transport error")
			e, res, err := verifier.OpenEnvelope(t.Context(), out.GetEnvelope())
			require.NoError(t, err, "ШЭП signs its answers")
			require.Equal(t, "shep", res.Holder.Name)
			require.Equal(t, tt.code, e.GetStatus().GetCode(), e.GetStatus().GetMessage())
			require.Equal(t, tt.requestHash, e.GetRequestHash())
		})
	}
	t.Run("fail/over the hard bound", func(t *testing.T) {
		req := wire(&envelopev1.SignedEnvelope{Envelope: make([]byte, 9<<20), Signature: []byte{1}})
		err := conn.Invoke(t.Context(), shepv1.SyncChannelService_SendMessage_FullMethodName, req, &shepv1.SendMessageResponse{}, grpc.ForceCodecV2(codec))
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	})

	// Bytes that are no request are answered only to a participant: the peer is checked first, so an
	// outsider gets the transport's refusal, and nothing is logged for it.
	for _, tt := range []struct {
		name string
		id   *mtls.Identity
		code codes.Code
	}{
		{"fail/undecodable bytes without a client certificate", s.ca.Anonymous(), codes.Unauthenticated},
		{"fail/undecodable bytes from a system ШЭП does not know", s.ca.TLS(s.ca.System(t, "stranger")), codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.rn.Dial(t, "shep", tt.id).Invoke(t.Context(), shepv1.SyncChannelService_SendMessage_FullMethodName, undecodable,
				&shepv1.SendMessageResponse{}, grpc.ForceCodecV2(codec))
			require.Equal(t, tt.code, status.Code(err), "%v", err)
		})
	}

	// The rejections are logged like any other, and the chain holds.
	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk(), "%v", v.GetProblems())
	require.EqualValues(t, 3, v.GetRecords())
}
