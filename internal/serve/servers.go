package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
)

// Listen opens a TCP listener; addr ":0" or "127.0.0.1:0" picks a free port (see the listener's Addr).
func Listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return lis, nil
}

// stoppingKey carries the channel closed when the server begins to shut down.
type stoppingKey struct{}

// Stopping is closed when the server that serves the request ctx begins to shut down: a long answer
// (a stream of server-sent events) ends then, so that the graceful shutdown does not wait for it. Plain
// requests go on to their end. Outside such a server it is never closed.
func Stopping(ctx context.Context) <-chan struct{} {
	if ch, ok := ctx.Value(stoppingKey{}).(chan struct{}); ok {
		return ch
	}
	return nil
}

// HTTP serves h on lis under the runner and shuts it down in PhaseHTTP.
func HTTP(r *Runner, name string, lis net.Listener, h http.Handler) {
	stopping := make(chan struct{})
	base := context.WithValue(context.Background(), stoppingKey{}, stopping)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return base }}
	srv.RegisterOnShutdown(func() { close(stopping) })
	r.Go(name, func(context.Context) error {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	r.OnStop(PhaseHTTP, name, srv.Shutdown)
}

// GRPC serves srv on lis under the runner. In PhaseGRPC it stops gracefully, and hard when the
// shutdown deadline comes first.
func GRPC(r *Runner, name string, lis net.Listener, srv *grpc.Server) {
	r.Go(name, func(context.Context) error {
		return srv.Serve(lis)
	})
	r.OnStop(PhaseGRPC, name, func(ctx context.Context) error {
		done := make(chan struct{})
		go func() {
			srv.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			srv.Stop()
			<-done
			return fmt.Errorf("graceful stop cut short: %w", ctx.Err())
		}
	})
}
