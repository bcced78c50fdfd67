// Package conformance holds what the registries' conformance suites share: the result of a check, a
// runner that bounds each check in time, and the gRPC status comparison the checks make.
package conformance

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Result is the outcome of one check.
type Result struct {
	Name string
	Err  error
}

// Checks collects results, each check bounded by ten seconds.
type Checks struct {
	ctx     context.Context
	Results []Result
}

// New starts a collection under ctx.
func New(ctx context.Context) *Checks { return &Checks{ctx: ctx} }

// Check runs fn and records its outcome under name.
func (c *Checks) Check(name string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	c.Results = append(c.Results, Result{Name: name, Err: fn(ctx)})
}

// WantCode is nil when err carries the gRPC code want.
func WantCode(err error, want codes.Code) error {
	if got := status.Code(err); got != want {
		if err == nil {
			return fmt.Errorf("got OK, want %v", want)
		}
		return fmt.Errorf("got %v, want %v: %w", got, want, err)
	}
	return nil
}
