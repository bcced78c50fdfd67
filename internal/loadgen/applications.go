package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/qakit"
	"github.com/egov-suite/egov/internal/natsbus"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// AppOptions configure the end-to-end load.
type AppOptions struct {
	// Endpoints is the path of endpoints.json; its folder holds keys/ (and, for egov dev, the NATS
	// credentials the tap and the baseline use).
	Endpoints string
	// Applications to submit, from Concurrency citizens' sessions at once.
	Applications int
	Concurrency  int
	// Region of the guardianship certificate: 27 is fully automated; another needs Bot.
	Region string
	// Bot, when set, plays the provider's staff in АРМ: the clerk passes each case on, the officer
	// approves and signs.
	Bot bool
	// Wait bounds how long the results may take after the last submission.
	Wait time.Duration
	Log  *slog.Logger
}

// AppReport is what the run measured.
type AppReport struct {
	Applications, Final, Concurrency int
	Took                             time.Duration
	PerSec                           float64
	Registered, Result               Latencies
	ShepEnvelopes                    float64
	ShepPerSec                       float64
	JetStreamPerSec                  float64
	GRPCPerSec                       float64
	Memory                           map[string]float64
}

func (r *AppReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "applications: %d submitted by %d clients, %d reached a final state, in %s\n", r.Applications, r.Concurrency, r.Final, r.Took.Round(time.Millisecond))
	fmt.Fprintf(&b, "  end to end           %8.1f applications/s\n", r.PerSec)
	fmt.Fprintf(&b, "  submit→registered    p50 %s  p95 %s  p99 %s\n", ms(r.Registered.Quantile(.5)), ms(r.Registered.Quantile(.95)), ms(r.Registered.Quantile(.99)))
	fmt.Fprintf(&b, "  submit→result        p50 %s  p95 %s  p99 %s\n", ms(r.Result.Quantile(.5)), ms(r.Result.Quantile(.95)), ms(r.Result.Quantile(.99)))
	fmt.Fprintf(&b, "  ШЭП                  %8.0f envelopes accepted, %.0f/s (full signature checks)\n", r.ShepEnvelopes, r.ShepPerSec)
	fmt.Fprintf(&b, "  baseline, same run:  raw JetStream publish→consume %.0f msg/s; raw gRPC round trip (health) %.0f req/s\n", r.JetStreamPerSec, r.GRPCPerSec)
	fmt.Fprintf(&b, "  memory (RSS):")
	for _, k := range sortedKeys(r.Memory) {
		fmt.Fprintf(&b, " %s %.0f MiB;", k, r.Memory[k]/(1<<20))
	}
	b.WriteString("\n")
	return b.String()
}

// tracker follows the applications through the portal's inbox on ШЭП.
type tracker struct {
	mu         sync.Mutex
	submitted  map[string]time.Time
	registered map[string]time.Time
	final      map[string]time.Time
	numbers    chan [2]string // application id, registration number (for the bot)
}

// Applications runs the load.
func Applications(ctx context.Context, o AppOptions) (*AppReport, error) {
	eps, err := ReadEndpoints(o.Endpoints)
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Dir(o.Endpoints)
	keys := filepath.Join(dir, "keys")
	nc, err := connect(dir, eps.NATS)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	tr := &tracker{submitted: map[string]time.Time{}, registered: map[string]time.Time{}, final: map[string]time.Time{},
		numbers: make(chan [2]string, o.Applications+16)}
	sub, err := nc.Subscribe(natsbus.OutFilter("portal"), tr.observe)
	if err != nil {
		return nil, fmt.Errorf("loadgen: tap on the portal's deliveries: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		return nil, err
	}

	portal := eps.Services["portal"].HTTP
	shepHTTP := eps.Services["shep"].HTTP
	before, err := scrape(ctx, shepHTTP, "egov_shep_envelopes_accepted_total")
	if err != nil {
		return nil, err
	}
	if o.Bot {
		bot, err := newBot(ctx, eps.Services["rshep"].HTTP, keys, o.Region)
		if err != nil {
			return nil, err
		}
		go bot.run(ctx, tr.numbers, o.Log)
	}

	clients := make([]*qakit.Person, o.Concurrency)
	for i := range clients {
		if clients[i], err = asel(ctx, portal, keys); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, o.Concurrency)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(o.Applications) && ctx.Err() == nil {
				if err := apply(ctx, c, o.Region, tr); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(o.Wait)
	for tr.count() < o.Applications && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	after, err := scrape(ctx, shepHTTP, "egov_shep_envelopes_accepted_total")
	if err != nil {
		return nil, err
	}
	r := &AppReport{Applications: o.Applications, Final: tr.count(), Concurrency: o.Concurrency, Took: took}
	tr.mu.Lock()
	for id, s := range tr.submitted {
		if t, ok := tr.registered[id]; ok {
			r.Registered = append(r.Registered, t.Sub(s))
		}
		if t, ok := tr.final[id]; ok {
			r.Result = append(r.Result, t.Sub(s))
		}
	}
	tr.mu.Unlock()
	r.PerSec = float64(r.Final) / took.Seconds()
	r.ShepEnvelopes = after - before
	r.ShepPerSec = r.ShepEnvelopes / took.Seconds()
	if r.JetStreamPerSec, err = jetStreamBaseline(ctx, nc, 20000); err != nil {
		return nil, err
	}
	if r.GRPCPerSec, err = grpcBaseline(ctx, eps.Services["shep"].GRPC, filepath.Join(dir, "keys"), eps.InternalTLS == "off", o.Concurrency, 3*time.Second); err != nil {
		return nil, err
	}
	r.Memory = map[string]float64{}
	for name, e := range eps.Services {
		if v, err := scrape(ctx, e.HTTP, "process_resident_memory_bytes"); err == nil {
			r.Memory[name] = v
		}
	}
	if r.Final < r.Applications {
		return r, fmt.Errorf("loadgen: %d of %d applications reached no final state within %v", r.Applications-r.Final, r.Applications, o.Wait)
	}
	return r, nil
}

// connect reaches NATS as the suite's own user when egov dev's credentials are beside endpoints.json.
func connect(dir, natsURL string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("egov-loadgen")}
	if b, err := os.ReadFile(filepath.Join(dir, "nats-credentials.json")); err == nil {
		var creds map[string]string
		if err := json.Unmarshal(b, &creds); err != nil {
			return nil, fmt.Errorf("loadgen: nats-credentials.json: %w", err)
		}
		opts = append(opts, nats.UserInfo("egov", creds["egov"]))
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("loadgen: NATS: %w", err)
	}
	return nc, nil
}

// observe reads a delivery to the portal (as ШЭП routed it) and notes the application's progress.
func (tr *tracker) observe(m *nats.Msg) {
	now := time.Now()
	var se envelopev1.SignedEnvelope
	if proto.Unmarshal(m.Data, &se) != nil {
		return
	}
	e, err := envelope.Unmarshal(se.GetEnvelope())
	if err != nil || e.GetType() != envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION {
		return
	}
	var n applicationv1.StatusNotification
	if proto.Unmarshal(e.GetPayload(), &n) != nil {
		return
	}
	id := n.GetApplicationId()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	switch n.GetStatus() {
	case applicationv1.CaseStatus_CASE_STATUS_REGISTERED:
		if _, ok := tr.registered[id]; !ok {
			tr.registered[id] = now
			tr.numbers <- [2]string{id, n.GetRegistrationNumber()}
		}
	case applicationv1.CaseStatus_CASE_STATUS_RESULT_ISSUED:
		tr.final[id] = now
	case applicationv1.CaseStatus_CASE_STATUS_REFUSED:
		if n.GetRegistrationNumber() == "" { // refused at intake: final
			tr.final[id] = now
		}
	default:
	}
}

func (tr *tracker) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for id := range tr.submitted {
		if _, ok := tr.final[id]; ok {
			n++
		}
	}
	return n
}

// signIn signs a demo person in at base with their AUTH key (login page, form action, extra fields).
func signIn(ctx context.Context, base, keys, slug, page, action string, extra url.Values) (*qakit.Person, error) {
	p, err := qakit.NewPerson(base, keys, slug)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	pg, err := p.SignIn(ctx, page, action, extra)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("loadgen: sign-in of %s: %w", slug, err)
	}
	return p, nil
}

// asel is Асель on the portal: the demo citizen whose key signs every application.
func asel(ctx context.Context, portal, keys string) (*qakit.Person, error) {
	return signIn(ctx, portal, keys, "citizen-akhmetova", "/login", "/login/cert", nil)
}

// apply drafts, signs and sends one guardianship certificate application for Асель's ward. The
// submission is timed from just before the signature is made (ECDSA, some 50 µs) and sent.
func apply(ctx context.Context, p *qakit.Person, region string, tr *tracker) error {
	path := "/services/guardianship-certificate/" + region
	pg, err := p.Submit(ctx, path, qakit.Form{Path: path, Fields: map[string]string{"ward_iin": demo.WardIIN}})
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return fmt.Errorf("loadgen: draft: %w", err)
	}
	id, err := qakit.Application(pg)
	if err != nil {
		return fmt.Errorf("loadgen: the draft's signing page was not reached: %w", err)
	}
	tr.mu.Lock()
	tr.submitted[id] = time.Now()
	tr.mu.Unlock()
	pg, err = p.SignPage(ctx, pg, "/applications/"+id+"/sign", p.Sign, nil)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return fmt.Errorf("loadgen: sign %s: %w", id, err)
	}
	return nil
}
