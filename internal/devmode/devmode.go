// Package devmode is `egov dev`, the embedded default: an embedded NATS server with JetStream and a
// PostgreSQL cluster in one data folder (or DATABASE_URL), every service in one process, demo data
// seeded, and every endpoint printed and written to <data-dir>/endpoints.json.
package devmode

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/ncalayer"
	"github.com/egov-suite/egov/internal/pgcluster"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/telemetry"
)

// Options configure a dev run.
type Options struct {
	// DataDir holds NATS's store, the PostgreSQL cluster, demo key files and endpoints.json.
	DataDir string
	// BasePort lays the ports out from here (NATS, PostgreSQL, then two per service); 0 picks free ports.
	BasePort int
	// Platform is the process configuration; NATS and database URLs are replaced by the embedded ones
	// (the database only when DatabaseURL is empty).
	Platform config.Platform
	// Services to run.
	Services []app.Descriptor
	Log      *slog.Logger
	// Telemetry providers, set up and installed.
	Telemetry *telemetry.Providers
	// Out receives the human summary (endpoints, demo people).
	Out io.Writer
	// ShowIINs prints the demo people's IINs whole in the summary: only when Out is a terminal, read
	// by a person. Otherwise Out ends in a log (a container's, a CI job's, `make demo > file`), and a
	// log carries no full IIN: the summary masks them as the JSON log does.
	ShowIINs bool
	// SignerAddr is where the local signer (`egov ncalayer`, loaded with the demo people's keys) listens:
	// NCALayer's own 127.0.0.1:13579 by default; "off" runs none (a real NCALayer may be running).
	SignerAddr string
	// Started, when set, is called once everything is ready, with the endpoints.
	Started func(Endpoints)
}

// Endpoints is what endpoints.json holds: one object per service, plus the NATS and PostgreSQL URLs,
// and for each ШЭП participant a NATS URL with its user, whose permissions reach only its own subjects
// (for an adapter or a test playing that participant).
type Endpoints struct {
	NATS      string                  `json:"nats"`
	Postgres  string                  `json:"postgres"`
	Services  map[string]app.Endpoint `json:"services"`
	NATSUsers map[string]string       `json:"nats_users"`
	// Signer is the local signer's page and WebSocket (http://…/), "" when none runs.
	Signer string `json:"ncalayer,omitempty"`
	// InternalTLS is "off" when the gRPC hops run in plaintext (EGOV_INTERNAL_TLS=off), "" when on.
	InternalTLS string `json:"internal_tls,omitempty"`
}

// adminUser is the NATS administrator: it only applies the topology (streams and buckets) at start.
// Every in-process service connects as its own restricted user (natsbus.Access), and each ШЭП
// participant of the demo has a user of its own for an adapter or a test playing it.
const adminUser = "egov"

// natsUsers are the NATS users of the dev mode: the administrator, every demo participant, and every
// service that uses NATS (a service named like a participant — portal, tson, shep — is that user, with
// the service's permissions, a superset of the participant's).
func natsUsers(services []app.Descriptor) (map[string]*server.User, error) {
	users := map[string]*server.User{adminUser: {Username: adminUser}}
	for _, id := range demo.Systems {
		users[id] = natsbus.ParticipantUser(id, "")
	}
	for _, d := range services {
		if d.NATS == nil {
			continue
		}
		a, err := d.NATS()
		if err != nil {
			return nil, fmt.Errorf("dev: %s: %w", d.Name, err)
		}
		if a.User == adminUser {
			return nil, fmt.Errorf("dev: %s: NATS user %q is the administrator's", d.Name, a.User)
		}
		users[a.User] = a.NATSUser("")
	}
	return users, nil
}

// natsCredentials returns the dev mode's NATS passwords for ids, made on first start and kept in the
// data folder (0600).
func natsCredentials(dir string, ids []string) (map[string]string, error) {
	path := filepath.Join(dir, "nats-credentials.json")
	creds := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &creds); err != nil {
			return nil, fmt.Errorf("dev: %s: %w", path, err)
		}
	}
	changed := false
	for _, id := range ids {
		if creds[id] == "" {
			b := make([]byte, 12)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			creds[id] = hex.EncodeToString(b)
			changed = true
		}
	}
	if changed {
		b, err := json.MarshalIndent(creds, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("dev: %w", err)
		}
	}
	// A file left by an older run may be wider; WriteFile keeps an existing file's mode.
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	return creds, nil
}

// Run starts everything and blocks until ctx ends, then stops it all in order, PostgreSQL included.
func Run(ctx context.Context, o Options) error {
	start := time.Now()
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	if err := privateDir(dir); err != nil {
		return err
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()

	port := func(offset int) int {
		if o.BasePort == 0 {
			return -1
		}
		return o.BasePort + offset
	}
	r := serve.NewRunner(o.Log, o.Platform.ShutdownTimeout)
	r.OnStop(serve.PhaseTelemetry, "telemetry", o.Telemetry.Shutdown)

	byName, err := natsUsers(o.Services)
	if err != nil {
		return errors.Join(err, r.Stop())
	}
	ids := slices.Sorted(maps.Keys(byName))
	creds, err := natsCredentials(dir, ids)
	if err != nil {
		return errors.Join(err, r.Stop())
	}
	users := make([]*server.User, 0, len(ids))
	serviceUsers := map[string]natsbus.ConnOptions{}
	for _, id := range ids {
		u := byName[id]
		u.Password = creds[id]
		users = append(users, u)
	}
	for _, d := range o.Services {
		if d.NATS != nil {
			a, _ := d.NATS() // checked by natsUsers
			serviceUsers[d.Name] = natsbus.ConnOptions{User: a.User, Password: creds[a.User]}
		}
	}
	ns, err := natsbus.RunEmbedded(natsbus.EmbeddedOptions{Port: port(0), StoreDir: filepath.Join(dir, "nats"), Users: users})
	if err != nil {
		return errors.Join(err, r.Stop())
	}
	// NATS stops last among the infrastructure: PostgreSQL's step is added after and runs before.
	infra := []func(context.Context) error{func(context.Context) error { natsbus.StopEmbedded(ns); return nil }}
	p := o.Platform
	p.NATSURL = ns.ClientURL()
	p.NATSUser, p.NATSPassword = adminUser, config.Secret(creds[adminUser])

	if p.DatabaseURL == "" {
		pgPort := 0
		if o.BasePort != 0 {
			pgPort = o.BasePort + 1
		}
		pgDir := filepath.Join(dir, "postgres")
		if err := pgcluster.Reachable(pgDir); err != nil {
			// As root the server runs as the postgres user, who cannot enter a folder such as /root:
			// keep the cluster in /var/tmp instead, one per data folder, so its data still persist.
			sum := sha256.Sum256([]byte(dir))
			pgDir = filepath.Join("/var/tmp", "egov-postgres-"+hex.EncodeToString(sum[:6]))
			o.Log.Info("the PostgreSQL cluster is kept outside the data folder, which the postgres user cannot reach",
				"cluster", pgDir, "reason", err.Error())
		}
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Port: pgPort, Durable: true, Database: "egov", Log: o.Log})
		if err != nil {
			natsbus.StopEmbedded(ns)
			return errors.Join(err, r.Stop())
		}
		infra = append([]func(context.Context) error{pg.Stop}, infra...)
		p.DatabaseURL = config.URL(pg.URL())
	} else {
		o.Log.Info("using DATABASE_URL instead of an embedded cluster", "url", p.DatabaseURL)
	}
	for i, stop := range infra {
		r.OnStop(serve.PhaseInfrastructure, "infrastructure "+strconv.Itoa(i), stop)
	}

	eps := Endpoints{NATS: p.NATSURL, Postgres: p.DatabaseURL.Value(), Services: map[string]app.Endpoint{},
		NATSUsers: map[string]string{}}
	if p.InternalTLS == "off" {
		eps.InternalTLS = "off"
	}
	for _, id := range demo.Systems {
		eps.NATSUsers[id] = strings.Replace(p.NATSURL, "nats://", "nats://"+id+":"+creds[id]+"@", 1)
	}
	listeners := map[string]app.Listeners{}
	for i, d := range o.Services {
		h, err := listen(port(10 + 2*i))
		if err != nil {
			return errors.Join(err, r.Stop())
		}
		g, err := listen(port(11 + 2*i))
		if err != nil {
			h.Close()
			return errors.Join(err, r.Stop())
		}
		l := app.Listeners{HTTP: h, GRPC: g}
		e := app.Endpoint{HTTP: "http://" + h.Addr().String(), GRPC: g.Addr().String()}
		if d.Ports.Admin != 0 {
			// The admin listeners follow the services' pairs of ports.
			if l.Admin, err = listen(port(40 + i)); err != nil {
				h.Close()
				g.Close()
				return errors.Join(err, r.Stop())
			}
			e.Admin = l.Admin.Addr().String()
		}
		listeners[d.Name], eps.Services[d.Name] = l, e
	}

	var signerLis net.Listener
	if o.SignerAddr != "off" {
		addr := o.SignerAddr
		if addr == "" {
			addr = ncalayer.DefaultAddr
		}
		if o.BasePort == 0 {
			addr = "127.0.0.1:0"
		}
		if signerLis, err = serve.Listen(addr); err != nil {
			return errors.Join(fmt.Errorf("dev: the local signer: %w (is NCALayer running? use --ncalayer off to use it)", err), r.Stop())
		}
		p.SignerURL = "ws://" + signerLis.Addr().String() + "/"
		eps.Signer = "http://" + signerLis.Addr().String() + "/"
	}

	ready := make(chan struct{})
	seeded, err := app.Start(ctx, r, app.Options{
		Platform: p, Log: o.Log, Telemetry: o.Telemetry, Services: o.Services, Listeners: listeners,
		Topology: natsbus.DefaultTopology(1), ApplyTopology: true, NATSUsers: serviceUsers,
		OnReady: func() { close(ready) }, SeedDir: dir,
	})
	if err != nil {
		for _, l := range listeners {
			l.HTTP.Close()
			l.GRPC.Close()
			if l.Admin != nil {
				l.Admin.Close()
			}
		}
		if signerLis != nil {
			signerLis.Close()
		}
		return errors.Join(err, r.Stop())
	}
	if signerLis != nil {
		signer, err := ncalayer.New(ncalayer.Options{Files: []string{filepath.Join(dir, "keys")}, Password: demo.Password,
			Person: "citizen-akhmetova", Origins: suiteOrigins(eps), Log: o.Log})
		if err != nil {
			signerLis.Close()
			return errors.Join(err, r.Stop())
		}
		srv := &http.Server{Handler: signer.Handler(), ReadHeaderTimeout: 10 * time.Second}
		r.Go("ncalayer", func(context.Context) error {
			if err := srv.Serve(signerLis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		r.OnStop(serve.PhaseHTTP, "ncalayer", srv.Shutdown)
	}
	r.Go("announce", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-ready:
		}
		if err := writeEndpoints(dir, eps); err != nil {
			return err
		}
		printSummary(o.Out, dir, eps, o.Services, seeded, o.ShowIINs, time.Since(start))
		if o.Started != nil {
			o.Started(eps)
		}
		return nil
	})
	return r.Run(ctx)
}

// privateDir makes the data folder, or takes an existing one, so that no other user may list it or
// read or write in it: it holds the NATS passwords (nats-credentials.json, endpoints.json) and the demo
// keys. Others keep the right to pass through (mode 0711), because as root the PostgreSQL server runs
// as the postgres user and keeps its cluster in a folder of its own under this one; every file with a
// secret is 0600 besides.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("dev: data folder: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("dev: data folder: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o066 != 0 {
		if err := os.Chmod(dir, m&^0o066); err != nil {
			return fmt.Errorf("dev: data folder %s is readable by others and cannot be made private: %w", dir, err)
		}
	}
	return nil
}

// suiteOrigins are the suite's own sites, which the local signer serves without asking: the portal, the
// ЦОН desk, АРМ (under РШЭП's address) and ИС Е-Астана's cabinets, by IP and by the name localhost. Any other site's page waits
// for the person's Allow on the signer's page, as with NCALayer.
func suiteOrigins(eps Endpoints) []string {
	var out []string
	for _, name := range []string{"portal", "tson", "rshep", "eastana"} {
		u, err := url.Parse(eps.Services[name].HTTP)
		if err != nil || u.Port() == "" {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host, u.Scheme+"://localhost:"+u.Port())
	}
	slices.Sort(out)
	return out
}

func listen(port int) (net.Listener, error) {
	addr := "127.0.0.1:0"
	if port > 0 {
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	l, err := serve.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("dev: %w (choose another --base-port, or 0 for free ports)", err)
	}
	return l, nil
}

func writeEndpoints(dir string, eps Endpoints) error {
	b, err := json.MarshalIndent(eps, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "endpoints.json.tmp")
	// It holds NATS URLs with passwords: the owner's only. WriteFile keeps the mode of a file that
	// exists (a left-over of an interrupted run), so the mode is set again.
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, "endpoints.json"))
}

func printSummary(w io.Writer, dir string, eps Endpoints, services []app.Descriptor, seeded []demo.Entry, showIINs bool, took time.Duration) {
	fmt.Fprintf(w, "\negov dev is ready (%s). Data folder: %s\n\n", took.Round(time.Millisecond), dir)
	fmt.Fprintf(w, "  %-10s %s\n", "nats", eps.NATS)
	fmt.Fprintf(w, "  %-10s %s\n", "postgres", config.RedactURL(eps.Postgres))
	if eps.Signer != "" {
		fmt.Fprintf(w, "  %-10s %s  — egov ncalayer, the local signer (choose whose key signs on this page)\n", "ncalayer", eps.Signer)
	}
	for _, d := range services {
		e := eps.Services[d.Name]
		admin := ""
		if e.Admin != "" {
			admin = "  admin " + e.Admin
		}
		fmt.Fprintf(w, "  %-10s http %s  grpc %s%s  — %s\n", d.Name, e.HTTP, e.GRPC, admin, d.Title)
	}
	if len(seeded) > 0 {
		fmt.Fprintf(w, "\n  Demo data (key files under %s):\n", dir)
		for _, e := range seeded {
			line := fmt.Sprintf("    %-6s %-8s %-32s", e.Service, e.Kind, e.Name)
			if e.IIN != "" {
				line += " ИИН " + e.IIN
			}
			if e.Role != "" {
				line += "  " + e.Role
			}
			if e.File != "" {
				line += "  " + e.File
			}
			if e.Password != "" {
				line += "  пароль " + e.Password
			}
			if !showIINs {
				line = telemetry.MaskIINs(line) // in a role or a name too (a representative's IIN)
			}
			fmt.Fprintln(w, line)
		}
	}
	if !showIINs && len(seeded) > 0 {
		fmt.Fprintf(w, "\n  IINs are masked: this output is not a terminal and may be kept as a log (the cast is in the README).\n")
	}
	fmt.Fprintf(w, "\n  Endpoints written to %s\n  Press Ctrl-C to stop (the data is kept for the next run).\n\n",
		filepath.Join(dir, "endpoints.json"))
}

// lock takes an exclusive lock on the data folder, so two dev runs never share one store.
func lock(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("dev: data folder %s is in use by another egov dev (stop it or use --data-dir)", dir)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
