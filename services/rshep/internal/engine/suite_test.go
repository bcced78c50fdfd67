package engine_test

import (
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/apptest"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/participant"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/enis"
	"github.com/egov-suite/egov/services/gbdfl"
	"github.com/egov-suite/egov/services/rshep/internal/arm"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/schema"
	"github.com/egov-suite/egov/services/shep"
	"github.com/egov-suite/egov/shepsdk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// clock is the engine's clock: the wall clock moved ahead by what the test advances, so deadlines can
// pass while signatures (checked by ШЭП on the wall clock) stay current.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// regions are the regional nodes the suite runs: every region of the built-in catalogue, so a passport
// of a new region is served (and walked by TestCatalogPaths) without an edit here.
var regions = catalogRegions()

func catalogRegions() []string {
	out := []string{"55", "59", "27", "51"}
	cat, err := catalog.Builtin()
	if err != nil {
		return out // the catalogue's own tests and every suite's engine report the error
	}
	for _, p := range cat.All() {
		if engine.Runs(p) && !slices.Contains(out, p.Region) {
			out = append(out, p.Region)
		}
	}
	return out
}

// adminIIN is the operator's administrator (the demo one's).
const adminIIN = "810109300001"

// suite is ШЭП, ГБД ФЛ and ЕНИС running as services on real sockets, NATS and PostgreSQL, with the
// regional nodes' engine on its own clock, and the portal and the ЦОН desk as participants that collect
// the notifications they receive.
type suite struct {
	ca      *ncatest.Authority
	clock   *clock
	db      *pgxpool.Pool
	dbURL   string
	eng     *engine.Engine
	nodes   map[string]*shepsdk.Client
	portal  *shepsdk.Client
	tson    *shepsdk.Client
	admin   shepv1.ShepAdminServiceClient
	rn      *apptest.Running
	natsURL string

	mu   sync.Mutex
	seen map[string][]*applicationv1.StatusNotification

	staff map[string]*staffer

	// live is the engine the nodes' deliveries go to: s.eng, or one a test builds on another catalogue.
	live atomic.Pointer[engine.Engine]
}

type staffer struct {
	engine.Employee
	sign *envelope.Signer
}

func keyFile(t testing.TB, dir string, s *envelope.Signer, name string) string {
	t.Helper()
	p12, err := pki.PKCS12(s.Key, s.Cert, s.Chain, "secret")
	require.NoError(t, err)
	path := filepath.Join(dir, name+".p12")
	require.NoError(t, os.WriteFile(path, p12, 0o600))
	return path
}

func start(t testing.TB) *suite {
	t.Helper()
	return launch(t, true)
}

// launch starts the suite; without forward, nothing publishes the outbox but the test itself.
func launch(t testing.TB, forward bool) *suite {
	t.Helper()
	ctx := t.Context()
	ca := ncatest.New(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}), 0o600))
	pc := func(id string) participant.Config {
		return participant.Config{KeyFile: keyFile(t, dir, ca.System(t, id), id), KeyPassword: "secret", TrustAnchors: root, OCSPFreshness: time.Minute}
	}
	ns := natstest.New(t)
	url := pgtest.URL(t)
	_, err := gbdfl.Seed(ctx, url, 300, 1)
	require.NoError(t, err)
	_, _, err = enis.Seed(ctx, url, 300, 1)
	require.NoError(t, err)
	shepPC := pc("shep")
	rn, err := apptest.StartWith(t, apptest.Options{NATSURL: ns.ClientURL(), DBURL: url,
		Env: map[string]string{"EGOV_ADMIN_IINS": adminIIN, "EGOV_ADMIN_BIN": demo.BINSuite}},
		shep.Descriptor(shep.Config{KeyFile: shepPC.KeyFile, KeyPassword: "secret", TrustAnchors: root, OCSPFreshness: time.Minute,
			Redelivery: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, AckWait: 5 * time.Second}),
		gbdfl.Descriptor(gbdfl.Config{Participant: pc("gbdfl"), Registry: participant.Registry{Source: "postgres"}}),
		enis.Descriptor(enis.Config{Participant: pc("enis"), Registry: participant.Registry{Source: "postgres"}}))
	require.NoError(t, err)
	conn := rn.DialAdmin(t, "shep", ca.TLS(ca.Employee(t, adminIIN, demo.BINSuite)))
	s := &suite{ca: ca, clock: &clock{}, dbURL: url, admin: shepv1.NewShepAdminServiceClient(conn), rn: rn,
		natsURL: ns.ClientURL(), seen: map[string][]*applicationv1.StatusNotification{}, nodes: map[string]*shepsdk.Client{}}

	ids := []string{"portal", "tson", "gbdfl", "enis"}
	for _, r := range regions {
		ids = append(ids, engine.ParticipantID(r))
	}
	for _, id := range ids {
		_, err := s.admin.PutParticipant(ctx, &shepv1.PutParticipantRequest{Participant: &shepv1.Participant{Id: id}})
		require.NoError(t, err)
	}
	for svc, ep := range map[string]string{gbdflv1.ServicePerson: rn.Endpoints["gbdfl"].GRPC, enisv1.ServicePowerOfAttorney: rn.Endpoints["enis"].GRPC} {
		provider := map[string]string{gbdflv1.ServicePerson: "gbdfl", enisv1.ServicePowerOfAttorney: "enis"}[svc]
		_, err := s.admin.PutService(ctx, &shepv1.PutServiceRequest{Service: &shepv1.Service{Id: svc, Provider: provider,
			Channel: shepv1.Channel_CHANNEL_SYNC, Endpoint: ep, TimeoutMs: 5000}})
		require.NoError(t, err)
		for _, r := range regions {
			_, err = s.admin.Grant(ctx, &shepv1.GrantRequest{Sender: engine.ParticipantID(r), ServiceId: svc})
			require.NoError(t, err)
		}
	}
	for _, r := range regions {
		_, err := s.admin.PutService(ctx, &shepv1.PutServiceRequest{Service: &shepv1.Service{Id: engine.ServiceID(r),
			Provider: engine.ParticipantID(r), Channel: shepv1.Channel_CHANNEL_ASYNC, Region: r}})
		require.NoError(t, err)
		for _, sender := range []string{"portal", "tson"} {
			_, err = s.admin.Grant(ctx, &shepv1.GrantRequest{Sender: sender, ServiceId: engine.ServiceID(r)})
			require.NoError(t, err)
		}
		s.nodes[r] = s.client(t, engine.ParticipantID(r))
	}
	s.portal, s.tson = s.client(t, "portal"), s.client(t, "tson")

	s.db, err = pgdb.Open(ctx, url, "rshep", 16)
	require.NoError(t, err)
	t.Cleanup(s.db.Close)
	_, err = pgdb.Migrate(ctx, s.db, "rshep", schema.Migrations())
	require.NoError(t, err)
	s.eng = s.engine(t, "replica-1")
	s.live.Store(s.eng)

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for r, n := range s.nodes {
		wg.Go(func() {
			_ = n.Receive(runCtx, func(ctx context.Context, d *shepsdk.Delivery) error { return s.live.Load().Handler(r)(ctx, d) })
		})
	}
	if forward {
		wg.Go(func() { _ = s.eng.Forward(runCtx, 200*time.Millisecond) })
	}
	for _, c := range []*shepsdk.Client{s.portal, s.tson} {
		wg.Go(func() { _ = c.Receive(runCtx, s.collect) })
	}
	s.hire(t)
	return s
}

// verifyBase is the portal's address the printed results' QR codes lead to.
const verifyBase = "https://portal.example.kz"

func (s *suite) engine(t testing.TB, worker string) *engine.Engine {
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	return s.engineOn(t, worker, cat)
}

// engineOn is a replica running the catalogue cat, its passports recorded as the service records them.
func (s *suite) engineOn(t testing.TB, worker string, cat *catalog.Catalog) *engine.Engine {
	e, err := engine.New(engine.Options{Catalog: cat, Nodes: s.nodes, DB: s.db, Registries: engine.ShepRegistries{Nodes: s.nodes},
		Now: s.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Worker: worker, VerifyURL: verifyBase})
	require.NoError(t, err)
	require.NoError(t, e.RecordPassports(t.Context()))
	return e
}

func (s *suite) client(t testing.TB, id string) *shepsdk.Client {
	t.Helper()
	bus, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: s.natsURL, Name: id}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(bus.Conn.Close)
	// Each participant reaches ШЭП on its own connection, presenting its own certificate.
	sync := shepv1.NewSyncChannelServiceClient(s.rn.Dial(t, "shep", s.ca.TLS(s.ca.System(t, id))))
	return &shepsdk.Client{ID: id, Signer: s.ca.System(t, id), Verifier: s.ca.Verifier(t, s.ca.Checker(time.Minute)), Sync: sync, JS: bus.JS}
}

// hire makes the provider staff of every region: the demo clerk, officer and head, and a second officer.
func (s *suite) hire(t testing.TB) {
	s.staff = map[string]*staffer{}
	s.employ(t, "clerk", "920306400011", "Жумабаева", "ГУ «Отдел образования города Павлодара»", demo.BINPavlodarEducation, "clerk")
	s.employ(t, "officer", "750723300016", "Касымов", "ГУ «Отдел образования города Павлодара»", demo.BINPavlodarEducation, "officer", "commission")
	s.employ(t, "head", "680415300016", "Сейткалиев", "ГУ «Отдел образования города Павлодара»", demo.BINPavlodarEducation, "head", "commission")
}

// employ adds a member of staff in every region, with a signing key of the organisation org (BIN bin).
func (s *suite) employ(t testing.TB, key, iinV, surname, org, bin string, roles ...string) {
	sign := s.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Sign, Subject: pki.Subject{IIN: iinV, Surname: surname,
		GivenName: "Сотрудник", Organization: org, BIN: bin}}, pki.ECDSAP256)
	st := &staffer{Employee: engine.Employee{IIN: iinV, Name: surname + " Сотрудник", Roles: roles}, sign: sign}
	for _, r := range regions {
		require.NoError(t, arm.PutEmployee(t.Context(), s.db, r, st.Employee))
	}
	s.staff[key] = st
}

func (s *suite) collect(_ context.Context, d *shepsdk.Delivery) error {
	if d.Envelope == nil {
		return nil
	}
	var n applicationv1.StatusNotification
	if err := proto.Unmarshal(d.Envelope.GetPayload(), &n); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Delivery is at least once (a redelivery when an ack is slow on a loaded machine): the same
	// notification again is what a channel drops by its sequence; a different one under a taken
	// sequence stays, and fails the statuses.
	for _, seen := range s.seen[n.GetApplicationId()] {
		if proto.Equal(seen, &n) {
			return nil
		}
	}
	s.seen[n.GetApplicationId()] = append(s.seen[n.GetApplicationId()], &n)
	return nil
}

// statuses are the statuses the citizen has seen for an application, in sequence order. Delivery is at
// least once, so a notification may arrive twice (a redelivery after a late acknowledgement): a channel
// keeps it once, by its sequence, and so does this; a sequence never seen stays "".
func (s *suite) statuses(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range s.seen[id] {
		i := int(n.GetSequence()) - 1
		if i < 0 {
			continue
		}
		for len(out) <= i {
			out = append(out, "")
		}
		st := strings.TrimPrefix(n.GetStatus().String(), "CASE_STATUS_")
		if out[i] != "" && out[i] != st {
			st = "CONFLICT " + out[i] + "/" + st // two statuses under one sequence: never what a test wants
		}
		out[i] = st
	}
	return out
}

func (s *suite) last(id string) *applicationv1.StatusNotification {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *applicationv1.StatusNotification
	for _, n := range s.seen[id] {
		if out == nil || n.GetSequence() > out.GetSequence() {
			out = n
		}
	}
	return out
}

// waitFor waits until the citizen has seen exactly want.
func (s *suite) waitFor(t testing.TB, id string, want ...string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, want, s.statuses(id))
	}, 20*time.Second, 20*time.Millisecond)
}

// application is a form to send.
type application struct {
	service, region string
	channel         applicationv1.Channel
	applicant       string
	fields          map[string]string
	documents       []*applicationv1.SubmittedDocument
	signer          *envelope.Signer // the person who signs: the citizen, or the ЦОН operator
}

// build returns the application envelope (not yet sent) and the application id.
func (s *suite) build(t testing.TB, a application) (*envelopev1.Envelope, string, *shepsdk.Client) {
	t.Helper()
	id := uuid.NewString()
	app := &applicationv1.Application{ApplicationId: id, ServiceCode: a.service, Region: a.region, Channel: a.channel,
		ApplicantIin: a.applicant, Fields: a.fields, Documents: a.documents, SubmittedAt: timestamppb.Now()}
	content, err := proto.MarshalOptions{Deterministic: true}.Marshal(app)
	require.NoError(t, err)
	doc, err := a.signer.SignDocument(engine.MediaTypeApplication, content)
	require.NoError(t, err)
	from := s.portal
	if a.channel == applicationv1.Channel_CHANNEL_TSON {
		from = s.tson
	}
	env, err := from.Request(engine.ServiceID(a.region), doc)
	require.NoError(t, err)
	return env, id, from
}

// send signs and sends the application through ШЭП and returns its id.
func (s *suite) send(t testing.TB, a application) string {
	t.Helper()
	env, id, from := s.build(t, a)
	require.NoError(t, from.Send(t.Context(), env))
	return id
}

// caseOf waits for the application's case and returns it.
func (s *suite) caseOf(t testing.TB, id string) *engine.Case {
	t.Helper()
	var c *engine.Case
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var err error
		c, err = s.eng.ByApplication(t.Context(), id)
		require.NoError(ct, err)
	}, 20*time.Second, 20*time.Millisecond)
	return c
}

// act applies an employee's action; for sign it signs the case's results with the employee's key.
func (s *suite) act(t testing.TB, c *engine.Case, who string, a engine.Action) error {
	t.Helper()
	return s.actWith(t, s.eng, c, who, a)
}

// actWith applies an employee's action through engine e; for sign it signs every result document.
func (s *suite) actWith(t testing.TB, e *engine.Engine, c *engine.Case, who string, a engine.Action) error {
	t.Helper()
	st := s.staff[who]
	if a.Kind == "sign" {
		cur, err := e.Get(t.Context(), c.Region, c.ID)
		require.NoError(t, err)
		for _, d := range cur.Docs() {
			sig, err := st.sign.Sign(d.Content)
			require.NoError(t, err)
			a.Signatures = append(a.Signatures, sig)
		}
	}
	return e.Act(t.Context(), c.Region, c.ID, st.Employee, a)
}

func (s *suite) citizen(t testing.TB, iinV string) *envelope.Signer {
	return s.ca.Person(t, iinV, pki.Sign)
}

func (s *suite) operator(t testing.TB) *envelope.Signer {
	return s.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Sign, Subject: pki.Subject{IIN: "790215400018", Surname: "Нурланова",
		GivenName: "Гульнар", Organization: "НАО «Государственная корпорация «Правительство для граждан»»", BIN: demo.BINGovCorp}}, pki.ECDSAP256)
}

// TestRegistriesAnswerShepOnly: ГБД ФЛ and ЕНИС, run as egov runs them, refuse a participant calling
// them directly (the record of a person came back to anyone before), and a caller without a
// certificate; ШЭП reaches them (the paths' look-ups go through it).
func TestRegistriesAnswerShepOnly(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name    string
		service string
		id      *mtls.Identity
		code    codes.Code
		msg     string
	}{
		{name: "ok/shep asks ГБД ФЛ", service: "gbdfl", id: s.ca.TLS(s.ca.System(t, "shep"))},
		{name: "fail/the portal asks ГБД ФЛ directly", service: "gbdfl", id: s.ca.TLS(s.ca.System(t, "portal")),
			code: codes.PermissionDenied, msg: "portal may not call this service: only shep may"},
		{name: "fail/ГБД ФЛ without a client certificate", service: "gbdfl", id: s.ca.Anonymous(),
			code: codes.Unauthenticated, msg: "no client certificate"},
		{name: "fail/the ЦОН desk asks ЕНИС directly", service: "enis", id: s.ca.TLS(s.ca.System(t, "tson")),
			code: codes.PermissionDenied, msg: "tson may not call this service: only shep may"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := s.rn.Dial(t, tt.service, tt.id)
			var err error
			if tt.service == "gbdfl" {
				_, err = gbdflv1.NewPersonRegistryServiceClient(conn).GetPerson(t.Context(), &gbdflv1.GetPersonRequest{Iin: demo.People[0].IIN})
			} else {
				_, err = enisv1.NewNotaryRegistryServiceClient(conn).GetPowerOfAttorney(t.Context(),
					&enisv1.GetPowerOfAttorneyRequest{Number: demo.PowerOfAttorneyValid})
			}
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.msg)
		})
	}
}
