package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
)

// scrape sums a Prometheus metric's samples on base's /metrics.
func scrape(ctx context.Context, base, metric string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+" ") && !strings.HasPrefix(line, metric+"{") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

// jetStreamBaseline publishes n small messages to a throw-away stream on the same server and consumes
// them: the raw JetStream rate the suite's figures compare with.
func jetStreamBaseline(ctx context.Context, nc *nats.Conn, n int) (float64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	name := fmt.Sprintf("LOADGEN_BASELINE_%d", time.Now().UnixNano())
	subject := "loadgen.baseline." + name
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage})
	if err != nil {
		return 0, fmt.Errorf("loadgen: baseline stream: %w", err)
	}
	defer func() { _ = js.DeleteStream(context.WithoutCancel(ctx), name) }()
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return 0, err
	}
	payload := make([]byte, 1024)
	start := time.Now()
	done := make(chan struct{})
	var mu sync.Mutex
	got := 0
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		mu.Lock()
		got++
		if got == n {
			close(done)
		}
		mu.Unlock()
	})
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	for i := range n {
		if _, err := js.PublishAsync(subject, payload); err != nil {
			return 0, err
		}
		if i%1000 == 999 {
			<-js.PublishAsyncComplete()
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		return 0, fmt.Errorf("loadgen: baseline: %d of %d consumed", got, n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// grpcBaseline asks ШЭП's gRPC health service from c clients for d: the raw gRPC round trip on the same
// server, over the same transport as the suite's hops (mutual TLS as the portal, whose key is in keys,
// unless the run has it off).
func grpcBaseline(ctx context.Context, target, keys string, tlsOff bool, c int, d time.Duration) (float64, error) {
	var id *mtls.Identity
	if !tlsOff {
		cert, err := mtls.LoadP12(filepath.Join(keys, "system-portal.p12"), demo.Password)
		if err != nil {
			return 0, fmt.Errorf("loadgen: the portal's key for the gRPC baseline: %w", err)
		}
		roots, err := mtls.ReadRoots(filepath.Join(keys, "root.pem"))
		if err != nil {
			return 0, fmt.Errorf("loadgen: НУЦ's root: %w", err)
		}
		id = &mtls.Identity{ID: "portal", Cert: *cert, Roots: roots}
	}
	conn, err := grpc.NewClient(target, mtls.Transport{Off: tlsOff}.Dial(id, "shep"))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	h := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for ctx.Err() == nil {
				if _, err := h.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds(), nil
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
