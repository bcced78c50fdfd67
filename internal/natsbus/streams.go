package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// Topology is the set of streams and object store buckets the suite needs, declared as code and
// provisioned once by the administrator (Provision); each service verifies its part at start.
type Topology struct {
	Streams []jetstream.StreamConfig
	Buckets []jetstream.ObjectStoreConfig
}

// DefaultTopology returns the suite's streams. replicas is 1 for the dev mode and 3 for a production
// JetStream cluster.
func DefaultTopology(replicas int) Topology {
	return Topology{
		Streams: []jetstream.StreamConfig{
			{
				Name:        StreamIn,
				Description: "Envelopes sent by participants to ШЭП, awaiting verification and routing",
				Subjects:    []string{SubjectInPrefix + ">"},
				Retention:   jetstream.WorkQueuePolicy,
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
				Duplicates:  10 * time.Minute,
				MaxMsgSize:  4 << 20,
			},
			{
				Name:        StreamOut,
				Description: "Envelopes routed by ШЭП, awaiting their recipients",
				Subjects:    []string{SubjectOutPrefix + ">"},
				Retention:   jetstream.WorkQueuePolicy,
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
				Duplicates:  10 * time.Minute,
				MaxMsgSize:  4 << 20,
			},
			{
				Name:        StreamDLQ,
				Description: "Envelopes given up after their last delivery attempt, kept for inspection and replay",
				Subjects:    []string{SubjectDLQPrefix + ">"},
				Retention:   jetstream.LimitsPolicy,
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
				MaxAge:      30 * 24 * time.Hour,
			},
			{
				Name:        StreamAdvisories,
				Description: "Max-deliveries advisories of SHEP_OUT, consumed by ШЭП to fill the dead-letter stream",
				Subjects:    []string{MaxDeliveriesAdvisories},
				Retention:   jetstream.WorkQueuePolicy,
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
			},
			{
				// Outside PostgreSQL, so that deleting log rows and checkpoints from ШЭП's schema still shows;
				// no client may delete or purge its messages.
				Name:        StreamLogCheckpoints,
				Description: "Signed, time-stamped checkpoints of ШЭП's message log (copies of shep.log_checkpoints)",
				Subjects:    []string{SubjectLogCheckpoints},
				Retention:   jetstream.LimitsPolicy,
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
				Duplicates:  10 * time.Minute,
				DenyDelete:  true,
				DenyPurge:   true,
			},
		},
		Buckets: []jetstream.ObjectStoreConfig{
			{
				Bucket:      BucketAttachments,
				Description: "Scans and result documents, referenced from envelopes by digest",
				Storage:     jetstream.FileStorage,
				Replicas:    replicas,
			},
		},
	}
}

// Apply creates or updates every stream and bucket: Provision, for callers that need no report.
func (t Topology) Apply(ctx context.Context, js jetstream.JetStream) error {
	_, err := t.Provision(ctx, js)
	return err
}

// Check reports whether every stream and bucket exists: a readiness check.
func (t Topology) Check(ctx context.Context, js jetstream.JetStream) error {
	var errs []error
	for _, cfg := range t.Streams {
		if _, err := js.Stream(ctx, cfg.Name); err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", cfg.Name, err))
		}
	}
	for _, cfg := range t.Buckets {
		if _, err := js.ObjectStore(ctx, cfg.Bucket); err != nil {
			errs = append(errs, fmt.Errorf("bucket %s: %w", cfg.Bucket, err))
		}
	}
	return errors.Join(errs...)
}

// Require is Verify for a service, which may not create or change what it lacks: it refuses to start,
// and its error says what differs and who provisions it.
func (t Topology) Require(ctx context.Context, js jetstream.JetStream) error {
	if err := t.Verify(ctx, js); err != nil {
		return fmt.Errorf("natsbus: NATS lacks what this service needs, and a service may not create or change it: %w "+
			"(the streams and buckets are provisioned once, with the NATS administrator's credentials: "+
			"egov nats provision --replicas N; egov dev and the test harness do it themselves)", err)
	}
	return nil
}

// Redelivery is the retry policy of a recipient's consumer.
type Redelivery struct {
	// BackOff are the delays before each redelivery; MaxDeliver is len(BackOff)+1.
	BackOff []time.Duration
	// AckWait bounds how long a recipient may hold a message before it is redelivered.
	AckWait time.Duration
}

// DefaultRedelivery retries after 1 s, 5 s, 30 s, 2 min and 10 min, then gives up (six deliveries).
var DefaultRedelivery = Redelivery{
	BackOff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute},
	AckWait: 30 * time.Second,
}

// Delay is how long to wait before the next delivery after attempt (counted from 1) failed: a recipient
// that cannot take a message now (its database restarting, say) asks for it again after the back-off,
// not at once, so that a short outage does not spend every delivery.
func (r Redelivery) Delay(attempt uint64) time.Duration {
	return shepsdk.RetryDelay(r.BackOff, attempt)
}

// ConsumerName is the durable consumer of recipient on SHEP_OUT.
func ConsumerName(recipient string) string { return shepv1.ConsumerName(recipient) }

// RecipientConsumer is the durable pull consumer through which recipient takes what ШЭП routed to it:
// explicit ack after the recipient's own commit, back-off between redeliveries, and a bounded number of
// deliveries after which ШЭП moves the message to the dead-letter stream.
func RecipientConsumer(recipient string, r Redelivery) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName(recipient),
		Description:   "Deliveries to " + recipient,
		FilterSubject: OutFilter(recipient),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.AckWait,
		BackOff:       r.BackOff,
		MaxDeliver:    len(r.BackOff) + 1,
		MaxAckPending: 1000,
	}
}
