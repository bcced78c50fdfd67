package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/natsbus"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep/internal/checkpoint"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// The message log is anchored as X-Road anchors its own: every interval, when records were written,
// ШЭП states the log's head in a checkpoint, signs it and has НУЦ's TSA time-stamp it, stores it and
// publishes a copy to JetStream. The TSA being down delays a checkpoint, logged and counted, and never
// holds up routing: checkpoints are made beside the log writer, from its committed head.

// Checkpoint makes a checkpoint of the log's head now. made is false when no record was written since
// the last checkpoint (which is then returned).
func (g *Gateway) Checkpoint(ctx context.Context) (c checkpoint.Checkpoint, made bool, err error) {
	g.cpMu.Lock()
	defer g.cpMu.Unlock()
	defer func() {
		outcome := "made"
		switch {
		case err != nil && ctx.Err() != nil:
			return // stopping
		case err != nil:
			outcome = "failed"
			g.o.Log.WarnContext(ctx, "message log checkpoint not made; retried at the next interval", "err", err)
		case !made:
			outcome = "nothing new"
		}
		g.checkpoints.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	}()
	last, err := g.store.LastCheckpoint(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		last = checkpoint.Checkpoint{}
	case err != nil:
		return c, false, err
	}
	head, err := g.store.LogHead(ctx)
	if err != nil {
		return c, false, err
	}
	switch {
	case head.Seq < last.Seq:
		// Records under a checkpoint are gone: a later checkpoint must not paper over the cut.
		return last, false, fmt.Errorf("the log ends at record %d, before checkpoint %d's record %d: run egov shep log verify", head.Seq, last.Number, last.Seq)
	case head.Seq == 0 || head.Seq == last.Seq:
		return last, false, nil
	}
	prev := checkpoint.Genesis
	if last.Number > 0 {
		prev = last.Digest()
	}
	c = checkpoint.Checkpoint{Number: last.Number + 1, Seq: head.Seq, Head: head.Hash, PrevDigest: prev, At: g.o.Now()}
	if g.o.TSA == nil {
		return c, false, errors.New("no time-stamping authority configured")
	}
	if err := checkpoint.Seal(ctx, &c, g.o.Signer, g.o.TSA); err != nil {
		return c, false, err
	}
	// A token that does not verify now (a forged or wrong answer over plain HTTP) would only show at
	// egov shep log verify, months later: refuse it while the TSA can still be asked again.
	if g.o.Checkpoints != nil {
		if _, err := g.o.Checkpoints.Verify(ctx, &c); err != nil {
			return c, false, fmt.Errorf("checkpoint %d does not verify as made: %w", c.Number, err)
		}
	}
	if err := g.store.InsertCheckpoint(ctx, c); err != nil {
		if errors.Is(err, store.ErrCheckpointTaken) {
			// Another replica made this one: ours is not needed.
			last, err := g.store.LastCheckpoint(ctx)
			return last, false, err
		}
		return c, false, err
	}
	b, err := proto.Marshal(CheckpointProto(c))
	if err != nil {
		return c, true, err
	}
	if _, err := g.o.Bus.JS.PublishMsg(ctx, natsbus.NewMsg(ctx, natsbus.SubjectLogCheckpoints, fmt.Sprintf("checkpoint-%d", c.Number), b)); err != nil {
		// The checkpoint holds in the database; only its outside copy is missing.
		g.o.Log.ErrorContext(ctx, "message log checkpoint not copied to JetStream", "number", c.Number, "err", err)
	}
	return c, true, nil
}

// Checkpoints runs the checkpoint worker until ctx ends: a checkpoint every interval, when the log grew.
// A failure (the TSA down, the database away) is retried at the next tick.
func (g *Gateway) Checkpoints(ctx context.Context) error {
	interval := g.o.CheckpointInterval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _, _ = g.Checkpoint(ctx) // logged and counted in Checkpoint
		}
	}
}

// CheckpointProto is c as the admin API and the JetStream copy carry it.
func CheckpointProto(c checkpoint.Checkpoint) *shepv1.LogCheckpoint {
	return &shepv1.LogCheckpoint{Number: c.Number, Seq: c.Seq, Head: c.Head, PrevDigest: c.PrevDigest, Time: timestamppb.New(c.At),
		Signature: c.Signature, TimestampToken: c.Token}
}

func checkpointFromProto(p *shepv1.LogCheckpoint) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{Number: p.GetNumber(), Seq: p.GetSeq(), Head: p.GetHead(), PrevDigest: p.GetPrevDigest(),
		At: p.GetTime().AsTime(), Signature: p.GetSignature(), Token: p.GetTimestampToken()}
}

// LogReport is the outcome of verifying the log against its checkpoints.
type LogReport struct {
	store.Verification
	// Checkpoints that hold: signature, time-stamp, link to the previous one.
	Checkpoints int64
	// AnchoredSeq is the last record a valid checkpoint covers, AnchoredAt its time-stamp time.
	AnchoredSeq int64
	AnchoredAt  time.Time
	// Problems are every fault found, in the order checked.
	Problems []string
}

// VerifyLog checks every checkpoint (ШЭП's signature, НУЦ's time-stamp, the link to the previous one,
// and that the database still has each checkpoint published to JetStream), then walks the chain
// against the checkpoints that hold.
func (g *Gateway) VerifyLog(ctx context.Context) (LogReport, error) {
	var rep LogReport
	stored, err := g.store.Checkpoints(ctx)
	if err != nil {
		return rep, err
	}
	copies, err := g.checkpointCopies(ctx)
	if err != nil {
		return rep, err
	}
	byNumber := map[int64]checkpoint.Checkpoint{}
	for _, c := range stored {
		byNumber[c.Number] = c
	}
	for _, c := range copies {
		db, ok := byNumber[c.Number]
		switch {
		case !ok:
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint %d of %s (through record %d) is missing from the database; its JetStream copy is used",
				c.Number, c.At.UTC().Format(time.RFC3339), c.Seq))
			byNumber[c.Number] = c
		case !bytes.Equal(db.Content(), c.Content()) || !bytes.Equal(db.Signature, c.Signature) || !bytes.Equal(db.Token, c.Token):
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint %d in the database differs from its JetStream copy", c.Number))
		}
	}
	all := make([]checkpoint.Checkpoint, 0, len(byNumber))
	for _, c := range byNumber {
		all = append(all, c)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Number < all[j].Number })

	var anchors []store.Anchor
	var prev *checkpoint.Checkpoint
	for i := range all {
		c := &all[i]
		switch {
		case prev == nil && c.Number != 1:
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoints 1..%d are missing", c.Number-1))
		case prev != nil && c.Number != prev.Number+1:
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoints %d..%d are missing", prev.Number+1, c.Number-1))
		case prev != nil && !bytes.Equal(c.PrevDigest, prev.Digest()):
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint %d does not link to checkpoint %d", c.Number, prev.Number))
		case prev == nil && !bytes.Equal(c.PrevDigest, checkpoint.Genesis):
			rep.Problems = append(rep.Problems, "checkpoint 1 links to an earlier one")
		}
		at, err := g.o.Checkpoints.Verify(ctx, c)
		switch {
		case err != nil:
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint %d (through record %d): %v", c.Number, c.Seq, err))
		case len(anchors) > 0 && c.Seq <= anchors[len(anchors)-1].Seq:
			rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint %d goes back to record %d", c.Number, c.Seq))
		default:
			anchors = append(anchors, store.Anchor{Number: c.Number, Seq: c.Seq, Head: c.Head, At: at})
		}
		prev = c
	}
	rep.Verification, err = g.store.VerifyLog(ctx, anchors)
	if err != nil {
		return rep, err
	}
	if rep.FirstBroken != 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("record %d: %s", rep.FirstBroken, rep.Problem))
	}
	for _, a := range anchors {
		if rep.FirstBroken != 0 && a.Seq >= rep.FirstBroken {
			break
		}
		rep.Checkpoints, rep.AnchoredSeq, rep.AnchoredAt = rep.Checkpoints+1, a.Seq, a.At
	}
	return rep, nil
}

// checkpointCopies reads every checkpoint published to JetStream.
func (g *Gateway) checkpointCopies(ctx context.Context) ([]checkpoint.Checkpoint, error) {
	s, err := g.o.Bus.JS.Stream(ctx, natsbus.StreamLogCheckpoints)
	if err != nil {
		return nil, fmt.Errorf("the checkpoints' stream: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []checkpoint.Checkpoint
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var p shepv1.LogCheckpoint
			if err := proto.Unmarshal(m.Data(), &p); err != nil {
				return nil, fmt.Errorf("a checkpoint copy in JetStream is not a LogCheckpoint: %w", err)
			}
			out = append(out, checkpointFromProto(&p))
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			if meta.Sequence.Stream >= info.State.LastSeq {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errors.New("the checkpoints' stream ended before its last message")
		}
	}
}
