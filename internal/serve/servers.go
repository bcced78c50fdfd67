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

// HTTP serves h on lis under the runner and shuts it down in PhaseHTTP.
func HTTP(r *Runner, name string, lis net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
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
