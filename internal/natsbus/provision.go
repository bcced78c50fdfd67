package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Provisioning is one explicit step, run with the NATS administrator's credentials (egov nats provision,
// or egov dev and the test harness before their services start): it alone creates and changes the
// streams and buckets, with the replicas the operator chose. A service never applies the topology: one
// process started with other flags once turned the streams of a three-node cluster from three replicas
// to one. A service checks instead that what it finds is what it needs (Verify) and refuses to start
// when it is not.

// Outcome is what provisioning did to one stream or bucket.
type Outcome string

const (
	// Created: it did not exist.
	Created Outcome = "created"
	// Updated: it existed with another configuration, now the declared one.
	Updated Outcome = "updated"
	// Unchanged: it existed as declared.
	Unchanged Outcome = "unchanged"
)

// Provisioned is the outcome for one stream or bucket.
type Provisioned struct {
	// Kind is "stream" or "bucket".
	Kind     string
	Name     string
	Replicas int
	Outcome  Outcome
}

// Provision creates or updates every stream and bucket and says what it did to each.
func (t Topology) Provision(ctx context.Context, js jetstream.JetStream) ([]Provisioned, error) {
	var out []Provisioned
	for _, cfg := range t.Streams {
		outcome := Created
		if s, err := js.Stream(ctx, cfg.Name); err == nil {
			outcome = Updated
			if streamDiff(cfg, s.CachedInfo().Config, true) == nil {
				outcome = Unchanged
			}
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return out, fmt.Errorf("natsbus: stream %s: %w", cfg.Name, err)
		}
		if outcome != Unchanged {
			if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
				return out, fmt.Errorf("natsbus: stream %s: %w", cfg.Name, err)
			}
		}
		out = append(out, Provisioned{Kind: "stream", Name: cfg.Name, Replicas: max(cfg.Replicas, 1), Outcome: outcome})
	}
	for _, cfg := range t.Buckets {
		outcome := Created
		if b, err := js.ObjectStore(ctx, cfg.Bucket); err == nil {
			outcome = Updated
			st, err := b.Status(ctx)
			if err != nil {
				return out, fmt.Errorf("natsbus: bucket %s: %w", cfg.Bucket, err)
			}
			if bucketDiff(cfg, st, true) == nil {
				outcome = Unchanged
			}
		} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return out, fmt.Errorf("natsbus: bucket %s: %w", cfg.Bucket, err)
		}
		if outcome != Unchanged {
			if _, err := js.CreateOrUpdateObjectStore(ctx, cfg); err != nil {
				return out, fmt.Errorf("natsbus: bucket %s: %w", cfg.Bucket, err)
			}
		}
		out = append(out, Provisioned{Kind: "bucket", Name: cfg.Bucket, Replicas: max(cfg.Replicas, 1), Outcome: outcome})
	}
	return out, nil
}

// Verify checks that every stream and bucket exists and is configured as the suite's code needs it:
// subjects, retention, storage, the duplicate window, the message size, the age limit and the deny
// flags. The replicas are the operator's choice at provisioning and are not compared. The error names
// every difference and who fixes it.
func (t Topology) Verify(ctx context.Context, js jetstream.JetStream) error {
	var errs []error
	for _, cfg := range t.Streams {
		s, err := js.Stream(ctx, cfg.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", cfg.Name, err))
			continue
		}
		if err := streamDiff(cfg, s.CachedInfo().Config, false); err != nil {
			errs = append(errs, fmt.Errorf("stream %s differs from what the suite needs: %w", cfg.Name, err))
		}
	}
	for _, cfg := range t.Buckets {
		b, err := js.ObjectStore(ctx, cfg.Bucket)
		if err != nil {
			errs = append(errs, fmt.Errorf("bucket %s: %w", cfg.Bucket, err))
			continue
		}
		st, err := b.Status(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("bucket %s: %w", cfg.Bucket, err))
			continue
		}
		if err := bucketDiff(cfg, st, false); err != nil {
			errs = append(errs, fmt.Errorf("bucket %s differs from what the suite needs: %w", cfg.Bucket, err))
		}
	}
	return errors.Join(errs...)
}

// streamDiff lists how got differs from want in what the suite relies on; replicas count only when
// provisioning (a service does not care how many copies the operator keeps).
func streamDiff(want, got jetstream.StreamConfig, replicas bool) error {
	var d []string
	field := func(name string, w, g any) {
		if w != g {
			d = append(d, fmt.Sprintf("%s is %v, needs %v", name, g, w))
		}
	}
	if !slices.Equal(want.Subjects, got.Subjects) {
		d = append(d, fmt.Sprintf("subjects are %s, need %s", strings.Join(got.Subjects, " "), strings.Join(want.Subjects, " ")))
	}
	field("retention", want.Retention, got.Retention)
	field("storage", want.Storage, got.Storage)
	if want.Duplicates != 0 {
		field("duplicate window", want.Duplicates, got.Duplicates)
	}
	field("max message size", unlimited(want.MaxMsgSize), unlimited(got.MaxMsgSize))
	field("max age", want.MaxAge, got.MaxAge)
	field("deny delete", want.DenyDelete, got.DenyDelete)
	field("deny purge", want.DenyPurge, got.DenyPurge)
	if replicas {
		field("replicas", max(want.Replicas, 1), max(got.Replicas, 1))
		field("description", want.Description, got.Description)
	}
	if len(d) == 0 {
		return nil
	}
	return errors.New(strings.Join(d, "; "))
}

func bucketDiff(want jetstream.ObjectStoreConfig, got jetstream.ObjectStoreStatus, replicas bool) error {
	var d []string
	if got.Storage() != want.Storage {
		d = append(d, fmt.Sprintf("storage is %v, needs %v", got.Storage(), want.Storage))
	}
	if got.Sealed() {
		d = append(d, "it is sealed")
	}
	if replicas && got.Replicas() != max(want.Replicas, 1) {
		d = append(d, fmt.Sprintf("replicas is %d, needs %d", got.Replicas(), max(want.Replicas, 1)))
	}
	if replicas && got.Description() != want.Description {
		d = append(d, "description differs")
	}
	if len(d) == 0 {
		return nil
	}
	return errors.New(strings.Join(d, "; "))
}

// unlimited reads a JetStream limit as the server stores it: 0 (unset) is -1, no limit.
func unlimited(v int32) int32 {
	if v <= 0 {
		return -1
	}
	return v
}
