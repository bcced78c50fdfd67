package shepsdk_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/shepsdk"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	backoff := []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	tests := []struct {
		name    string
		backoff []time.Duration
		attempt uint64
		want    time.Duration
	}{
		{"ok/first failure waits the first step", backoff, 1, time.Second},
		{"ok/third failure waits the third", backoff, 3, 30 * time.Second},
		{"ok/beyond the last step waits the last", backoff, 9, 30 * time.Second},
		{"ok/attempt zero (unknown) waits the first", backoff, 0, time.Second},
		{"ok/no back-off configured waits a second", nil, 2, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, shepsdk.RetryDelay(tt.backoff, tt.attempt))
		})
	}
}

// A client made for the sync channel only says what is missing when used on the async one.
func TestAsyncWithoutNATS(t *testing.T) {
	t.Parallel()
	c := &shepsdk.Client{ID: "welfare"}
	tests := []struct {
		name string
		do   func() error
	}{
		{"fail/publish", func() error { return c.Publish(t.Context(), "m1", []byte{1}) }},
		{"fail/receive", func() error { return c.Receive(t.Context(), nil) }},
		{"fail/ready", func() error { return c.Ready(t.Context()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorContains(t, tt.do(), "no NATS connection")
		})
	}
}

func TestOpenRefusesMissingFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    shepsdk.Options
		want string
	}{
		{"fail/no key file", shepsdk.Options{TrustAnchors: "root.pem"}, "key file and trust anchors are required"},
		{"fail/key file absent", shepsdk.Options{KeyFile: t.TempDir() + "/none.p12", TrustAnchors: "root.pem"}, "key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := shepsdk.Open(gbdflv1.ParticipantID, tt.o)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
