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
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/devmode"
	"github.com/egov-suite/egov/internal/natsbus"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/qakit"
)

// AppOptions configure the end-to-end load.
type AppOptions struct {
	// Endpoints is the path of endpoints.json; its folder holds keys/ (and, for egov dev, the NATS
	// credentials the tap and the baseline use).
	Endpoints string
	// Scenario is ScenarioPortal ("" too), ScenarioTSON or ScenarioAllPassports.
	Scenario string
	// Service and Region select the passports of the built-in catalogue the load applies for, among
	// those the scenario's channel offers; "" selects every one.
	Service, Region string
	// Applications to submit, from Concurrency sessions at once, round robin over the passports.
	Applications int
	Concurrency  int
	// Wait bounds how long the results may take after the last submission.
	Wait time.Duration
	Log  *slog.Logger
}

// AppReport is what the run measured.
type AppReport struct {
	Scenario string
	// Passports are the passports applied for; Final counts the applications that reached a final
	// state, by passport; HandedOver the results the ЦОН operator handed over.
	Passports                        []string
	ByPassport                       map[string]int
	HandedOver                       int
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
	fmt.Fprintf(&b, "scenario %s: %s\n", r.Scenario, strings.Join(r.Passports, ", "))
	fmt.Fprintf(&b, "applications: %d submitted by %d clients, %d reached a final state, in %s\n", r.Applications, r.Concurrency, r.Final, r.Took.Round(time.Millisecond))
	for _, k := range r.Passports {
		fmt.Fprintf(&b, "  %-38s %d final\n", k, r.ByPassport[k])
	}
	if r.Scenario == ScenarioTSON {
		fmt.Fprintf(&b, "  handed over at the ЦОН %d\n", r.HandedOver)
	}
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
	// passport of each application, for the report and the bot.
	passport map[string]*catalog.Passport
	numbers  chan [2]string // application id, registration number (for the bot)
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
	if o.Scenario == "" {
		o.Scenario = ScenarioPortal
	}
	ch, err := channel(o.Scenario)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Builtin()
	if err != nil {
		return nil, err
	}
	work, err := jobs(cat, ch, o.Service, o.Region)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(o.Endpoints)
	keys := filepath.Join(dir, "keys")
	target := &qakit.Target{Dir: dir, Endpoints: endpoints(eps)}
	nc, err := connect(dir, eps.NATS)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	tr := &tracker{submitted: map[string]time.Time{}, registered: map[string]time.Time{}, final: map[string]time.Time{},
		passport: map[string]*catalog.Passport{}, numbers: make(chan [2]string, o.Applications+16)}
	// The channel's deliveries: its status notifications are what the person on that channel sees.
	sub, err := nc.Subscribe(natsbus.OutFilter(ch), tr.observe)
	if err != nil {
		return nil, fmt.Errorf("loadgen: tap on the %s's deliveries: %w", ch, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		return nil, err
	}

	shepHTTP := eps.Services["shep"].HTTP
	before, err := scrape(ctx, shepHTTP, "egov_shep_envelopes_accepted_total")
	if err != nil {
		return nil, err
	}
	if err := startBots(ctx, target, work, tr.numbers, tr.passportOf, min(o.Concurrency, 4), o.Log); err != nil {
		return nil, err
	}

	clients := make([]*qakit.Person, o.Concurrency)
	for i := range clients {
		if ch == "tson" {
			clients[i], err = target.Operator(ctx)
		} else {
			clients[i], err = target.Citizen(ctx, qakit.Citizen)
		}
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
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
			for {
				n := next.Add(1)
				if n > int64(o.Applications) || ctx.Err() != nil {
					return
				}
				if err := apply(ctx, c, work[(n-1)%int64(len(work))], tr); err != nil {
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
	r := &AppReport{Scenario: o.Scenario, Applications: o.Applications, Final: tr.count(), Concurrency: o.Concurrency, Took: took,
		ByPassport: map[string]int{}}
	for _, j := range work {
		r.Passports = append(r.Passports, passportKey(j.p))
	}
	tr.mu.Lock()
	for id, s := range tr.submitted {
		if t, ok := tr.registered[id]; ok {
			r.Registered = append(r.Registered, t.Sub(s))
		}
		if t, ok := tr.final[id]; ok {
			r.Result = append(r.Result, t.Sub(s))
			r.ByPassport[passportKey(tr.passport[id])]++
		}
	}
	tr.mu.Unlock()
	r.PerSec = float64(r.Final) / took.Seconds()
	r.ShepEnvelopes = after - before
	r.ShepPerSec = r.ShepEnvelopes / took.Seconds()
	if ch == "tson" {
		if r.HandedOver, err = handOver(ctx, clients[0], tr); err != nil {
			return r, err
		}
	}
	if r.JetStreamPerSec, err = jetStreamBaseline(ctx, nc, 20000); err != nil {
		return nil, err
	}
	if r.GRPCPerSec, err = grpcBaseline(ctx, eps.Services["shep"].GRPC, keys, eps.InternalTLS == "off", o.Concurrency, 3*time.Second); err != nil {
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

// endpoints is endpoints.json as the kit reads it.
func endpoints(e *devmode.Endpoints) qakit.Endpoints {
	out := qakit.Endpoints{NATS: e.NATS, Postgres: e.Postgres, Services: map[string]qakit.Endpoint{}, NATSUsers: e.NATSUsers,
		Signer: e.Signer, InternalTLS: e.InternalTLS}
	for name, s := range e.Services {
		out.Services[name] = qakit.Endpoint{HTTP: s.HTTP, GRPC: s.GRPC, Admin: s.Admin}
	}
	return out
}

// handOver has the ЦОН operator hand every issued result over to the citizen (the desk's last step);
// it returns how many were handed over.
func handOver(ctx context.Context, op *qakit.Person, tr *tracker) (int, error) {
	tr.mu.Lock()
	var ids []string
	for id := range tr.final {
		ids = append(ids, id)
	}
	tr.mu.Unlock()
	n := 0
	for _, id := range ids {
		app := "/applications/" + id
		pg, err := op.Get(ctx, app)
		if err == nil {
			err = pg.Err()
		}
		if err != nil {
			return n, fmt.Errorf("loadgen: hand-over of %s: %w", id, err)
		}
		if !strings.Contains(pg.Body, "/hand-over") {
			continue // refused at intake: nothing to hand over
		}
		token, err := qakit.CSRF(pg)
		if err != nil {
			return n, fmt.Errorf("loadgen: hand-over of %s: %w", id, err)
		}
		pg, err = op.Post(ctx, app+"/hand-over", url.Values{"csrf": {token}})
		if err == nil {
			err = pg.Err()
		}
		if err != nil {
			return n, fmt.Errorf("loadgen: hand-over of %s: %w", id, err)
		}
		n++
	}
	return n, nil
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

// passportOf is the passport of an application the load submitted.
func (tr *tracker) passportOf(id string) *catalog.Passport {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.passport[id]
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
	return signIn(ctx, portal, keys, qakit.Citizen, "/login", "/login/cert", nil)
}

// apply drafts, signs and sends one application of job j. The submission is timed from just before
// the signature is made (ECDSA, some 50 µs) and sent.
func apply(ctx context.Context, p *qakit.Person, j job, tr *tracker) error {
	pg, err := p.Submit(ctx, j.page, j.form)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return fmt.Errorf("loadgen: draft of %s: %w", passportKey(j.p), err)
	}
	id, err := qakit.Application(pg)
	if err != nil {
		return fmt.Errorf("loadgen: the draft's signing page of %s was not reached: %w", passportKey(j.p), err)
	}
	tr.mu.Lock()
	tr.submitted[id] = time.Now()
	tr.passport[id] = j.p
	tr.mu.Unlock()
	pg, err = p.SignPage(ctx, pg, "/applications/"+id+"/sign", p.Sign, nil)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return fmt.Errorf("loadgen: sign %s (%s): %w", id, passportKey(j.p), err)
	}
	return nil
}
