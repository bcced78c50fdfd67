// Package serve runs a process's servers and workers under one errgroup and stops them in order: mark
// not ready, stop consuming, stop gRPC, stop HTTP, close stores, flush telemetry.
package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Phase orders the stop steps. Steps of a lower phase run first; within a phase, in the order added.
type Phase int

// The phases of an ordered shutdown.
const (
	// PhaseNotReady: readiness goes false so load balancers stop sending work.
	PhaseNotReady Phase = iota
	// PhaseConsumers: NATS subscriptions drain; no new messages are taken.
	PhaseConsumers
	// PhaseGRPC: gRPC servers stop gracefully, finishing calls in flight.
	PhaseGRPC
	// PhaseHTTP: HTTP servers shut down, finishing requests in flight.
	PhaseHTTP
	// PhaseStores: connection pools and the NATS connection close.
	PhaseStores
	// PhaseInfrastructure: embedded servers (NATS, PostgreSQL in dev mode) stop.
	PhaseInfrastructure
	// PhaseTelemetry: spans and metrics flush.
	PhaseTelemetry
)

func (p Phase) String() string {
	switch p {
	case PhaseNotReady:
		return "not-ready"
	case PhaseConsumers:
		return "consumers"
	case PhaseGRPC:
		return "grpc"
	case PhaseHTTP:
		return "http"
	case PhaseStores:
		return "stores"
	case PhaseInfrastructure:
		return "infrastructure"
	case PhaseTelemetry:
		return "telemetry"
	default:
		return fmt.Sprintf("phase-%d", int(p))
	}
}

type task struct {
	name string
	fn   func(ctx context.Context) error
}

type step struct {
	phase Phase
	seq   int
	name  string
	fn    func(ctx context.Context) error
}

// Runner runs tasks until the context ends or one task fails, then runs the stop steps.
type Runner struct {
	log     *slog.Logger
	timeout time.Duration
	tasks   []task
	steps   []step
}

// NewRunner returns a runner whose whole shutdown is bounded by timeout.
func NewRunner(log *slog.Logger, timeout time.Duration) *Runner {
	return &Runner{log: log, timeout: timeout}
}

// Go adds a long-running task. It should return when its stop step has run (or its context ends);
// a non-nil error starts the shutdown of everything.
func (r *Runner) Go(name string, fn func(ctx context.Context) error) {
	r.tasks = append(r.tasks, task{name: name, fn: fn})
}

// OnStop adds a stop step to a phase.
func (r *Runner) OnStop(phase Phase, name string, fn func(ctx context.Context) error) {
	r.steps = append(r.steps, step{phase: phase, seq: len(r.steps), name: name, fn: fn})
}

// Run starts every task and blocks until ctx ends or a task fails; then it runs the stop steps in
// order within the shutdown timeout and waits for the tasks. It returns the first task error joined
// with any stop errors; a clean stop returns nil.
func (r *Runner) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range r.tasks {
		g.Go(func() error {
			if err := t.fn(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			return nil
		})
	}
	<-gctx.Done()
	cause := context.Cause(gctx)
	if ctx.Err() == nil && cause != nil {
		r.log.Error("stopping after a failure", "err", cause)
	} else {
		r.log.Info("stopping")
	}
	stopErr := r.Stop()
	taskErr := g.Wait()
	return errors.Join(taskErr, stopErr)
}

// Stop runs the stop steps in order. Run calls it; call it directly only when Run was never called
// (e.g. set-up failed half-way and the steps added so far must still be undone).
func (r *Runner) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	steps := slices.Clone(r.steps)
	slices.SortStableFunc(steps, func(a, b step) int {
		return cmp.Or(cmp.Compare(a.phase, b.phase), cmp.Compare(a.seq, b.seq))
	})
	var errs []error
	for _, s := range steps {
		start := time.Now()
		if err := s.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
			r.log.Warn("stop step failed", "phase", s.phase.String(), "step", s.name, "err", err)
			continue
		}
		r.log.Debug("stopped", "phase", s.phase.String(), "step", s.name, "took", time.Since(start))
	}
	r.steps = nil
	return errors.Join(errs...)
}
