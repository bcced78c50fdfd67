package main

import (
	"context"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/egov-suite/egov/internal/serve"
)

// startProfiler serves Go's profiles (net/http/pprof) on EGOV_PPROF_ADDR when it is set — keep it on the
// loopback — for an operator who needs to see where the time goes. Off by default.
func startProfiler(ctx context.Context) error {
	addr := os.Getenv("EGOV_PPROF_ADDR")
	if addr == "" {
		return nil
	}
	l, err := serve.Listen(addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return nil
}
