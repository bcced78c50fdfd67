package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Check is one readiness condition, e.g. "nats", "stream SHEP_IN", "postgres".
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Health answers /livez, /readyz and the gRPC health service. The process is ready when every check
// passes and shutdown has not begun.
type Health struct {
	mu       sync.Mutex
	checks   []Check
	stopping atomic.Bool
	grpc     *health.Server
}

// NewHealth returns a health reporter with no checks (ready until one is added). Its gRPC health
// service says NOT_SERVING until Watch has seen every check pass: grpc-go's starts SERVING, so a
// balancer or a probe would send calls to a process still applying its migrations.
func NewHealth() *Health {
	h := &Health{grpc: health.NewServer()}
	h.grpc.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return h
}

// Add registers readiness checks.
func (h *Health) Add(checks ...Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, checks...)
}

// SetStopping marks the process not ready for good: the first step of shutdown.
func (h *Health) SetStopping() {
	h.stopping.Store(true)
	h.grpc.Shutdown()
}

// Result is the outcome of one check.
type Result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Ready runs every check (each bounded by two seconds) and reports whether all passed.
func (h *Health) Ready(ctx context.Context) (bool, []Result) {
	h.mu.Lock()
	checks := append([]Check(nil), h.checks...)
	h.mu.Unlock()
	ok := !h.stopping.Load()
	results := make([]Result, 0, len(checks)+1)
	if !ok {
		results = append(results, Result{Name: "shutdown", Error: "shutting down"})
	}
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Fn(cctx)
		cancel()
		r := Result{Name: c.Name, OK: err == nil}
		if err != nil {
			r.Error = err.Error()
			ok = false
		}
		results = append(results, r)
	}
	return ok, results
}

// Register mounts /livez and /readyz on mux.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, results := h.Ready(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(struct {
			Ready  bool     `json:"ready"`
			Checks []Result `json:"checks"`
		}{ok, results})
	})
}

// GRPCServer is the gRPC health service to register on a gRPC server.
func (h *Health) GRPCServer() healthpb.HealthServer { return h.grpc }

// Watch keeps the gRPC health status of services (and of the server as a whole, "") in step with
// readiness, polling every interval until ctx ends or shutdown begins.
func (h *Health) Watch(ctx context.Context, interval time.Duration, services ...string) error {
	// Known, and not serving, before the first round of checks has passed.
	for _, s := range services {
		h.grpc.SetServingStatus(s, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if h.stopping.Load() {
			return nil
		}
		ok, _ := h.Ready(ctx)
		status := healthpb.HealthCheckResponse_NOT_SERVING
		if ok {
			status = healthpb.HealthCheckResponse_SERVING
		}
		h.grpc.SetServingStatus("", status)
		for _, s := range services {
			h.grpc.SetServingStatus(s, status)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
