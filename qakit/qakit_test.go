package qakit_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/qakit"
	"github.com/egov-suite/egov/qakit/qakittest"
)

const within = 60 * time.Second

// TestKit starts a suite in process mode, drives it through the kit as started, then attaches to it
// through its endpoints.json and drives it again: the citizen on the portal, and the ЦОН desk with the
// officer in АРМ.
func TestKit(t *testing.T) {
	s := qakittest.Start(t, qakit.Options{})
	attached, err := qakit.Attach(t.Context(), filepath.Join(s.Dir, "endpoints.json"))
	require.NoError(t, err)
	require.Equal(t, s.Endpoints, attached.Endpoints, "endpoints.json is the suite's")
	t.Run("ok/start: registration by the AUTH certificate, then sign-in by password", func(t *testing.T) {
		t.Parallel()
		const password = "Пароль-для-проверки-1"
		_, err := s.Register(t.Context(), qakit.Representative, qakit.CitizenIIN, password)
		require.ErrorContains(t, err, "registration of citizen-ivanov", "his key does not prove her IIN")
		_, err = s.Register(t.Context(), qakit.Representative, qakit.RepresentativeIIN, password)
		require.NoError(t, err)
		_, err = attached.PasswordCitizen(t.Context(), qakit.RepresentativeIIN, "Другой-пароль-2")
		require.ErrorContains(t, err, "password sign-in")
		p, err := attached.PasswordCitizen(t.Context(), qakit.RepresentativeIIN, password)
		require.NoError(t, err)
		pg, err := p.Get(t.Context(), "/history")
		require.NoError(t, err)
		require.NoError(t, pg.Err())
	})
	for _, c := range []struct {
		name   string
		target *qakit.Target
	}{
		{name: "ok/start", target: &s.Target},
		{name: "ok/attach", target: attached},
	} {
		t.Run(c.name+": the citizen on the portal, automated", func(t *testing.T) {
			t.Parallel()
			portal(t, c.target)
		})
		t.Run(c.name+": the ЦОН desk and the officer in АРМ", func(t *testing.T) {
			t.Parallel()
			desk(t, c.target)
		})
	}
}

// portal: Асель applies for her ward's guardianship certificate in West Kazakhstan (fully automated),
// follows the statuses and checks the result's signature.
func portal(t *testing.T, target *qakit.Target) {
	ctx := t.Context()
	asel, err := target.Citizen(ctx, qakit.Citizen)
	require.NoError(t, err)
	app, err := asel.Apply(ctx, "/services/guardianship-certificate/27", qakit.Form{Fields: map[string]string{"ward_iin": qakit.WardIIN}})
	require.NoError(t, err)
	pg, err := asel.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}, qakit.Statuses(pg))
	require.NotEmpty(t, qakit.Number(pg))
	res, err := target.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeEnvelope})
	require.NoError(t, err)
	require.Equal(t, "rshep-27", res.Holder.Name, "West Kazakhstan's node signs the automatic result")
	// Someone else's signature over the same result does not verify as the node's.
	_, err = target.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: qakit.OfficerIIN})
	require.Error(t, err)
}

// desk: the ЦОН operator takes Асель's application in Zhambyl (59), the officer approves and signs it in
// АРМ, and the operator hands the result over.
func desk(t *testing.T, target *qakit.Target) {
	ctx := t.Context()
	op, err := target.Operator(ctx)
	require.NoError(t, err)
	const page = "/new/guardianship-certificate/59"
	app, err := op.Apply(ctx, page, qakit.Form{Fields: map[string]string{"ward_iin": qakit.WardIIN},
		Extra: map[string]string{"citizen_iin": qakit.CitizenIIN}})
	require.NoError(t, err)
	pg, err := op.Until(ctx, app, within, qakit.Has("REGISTERED"))
	require.NoError(t, err)
	officer, err := target.Staff(ctx, qakit.Officer, "59")
	require.NoError(t, err)
	path, _, found, err := officer.OpenCase(ctx, qakit.Number(pg), "Выдача справок по опеке и попечительству")
	require.NoError(t, err)
	require.True(t, found, "the case is among Zhambyl's open cases")
	pg, err = officer.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	pg, err = officer.SignResult(ctx, path)
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	pg, err = op.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	_, err = target.VerifyResult(ctx, op, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: qakit.OfficerIIN})
	require.NoError(t, err)
	token, err := qakit.CSRF(pg)
	require.NoError(t, err)
	pg, err = op.Post(ctx, app+"/hand-over", url.Values{"csrf": {token}})
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	pg, err = op.Get(ctx, app)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED", "HANDED_OVER"},
		qakit.Statuses(pg))
}

func TestAttachFails(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, endpoints string
		keys            bool
		want            string
	}{
		{name: "fail/no endpoints.json", want: "no such file"},
		{name: "fail/not JSON", endpoints: "services:", keys: true, want: "endpoints.json"},
		{name: "fail/no services", endpoints: `{"nats": "nats://127.0.0.1:1"}`, keys: true, want: "names no services"},
		{name: "fail/no demo keys", endpoints: `{"services": {"portal": {"http": "http://127.0.0.1:1"}}}`, want: "no demo keys"},
		{name: "fail/a service that does not answer", endpoints: `{"services": {"portal": {"http": "http://127.0.0.1:1"}}}`, keys: true,
			want: "portal at http://127.0.0.1:1 is not ready"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "endpoints.json")
			if c.endpoints != "" {
				require.NoError(t, os.WriteFile(path, []byte(c.endpoints), 0o600))
			}
			if c.keys {
				require.NoError(t, os.Mkdir(filepath.Join(dir, "keys"), 0o700))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			_, err := qakit.Attach(ctx, path)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestStartFails(t *testing.T) {
	t.Parallel()
	_, err := qakit.Start(t.Context(), qakit.Options{Mode: "container"})
	require.ErrorContains(t, err, `mode "container" is not supported`)
	_, err = qakit.Start(t.Context(), qakit.Options{Build: qakit.BuildOptions{Bin: filepath.Join(t.TempDir(), "no-egov")}})
	require.ErrorContains(t, err, "the egov binary")
	require.ErrorContains(t, err, "no-egov")
}

// TestCast: the kit's names of the demo cast are internal/demo's.
func TestCast(t *testing.T) {
	t.Parallel()
	byIIN := map[string]string{}
	for _, p := range demo.People {
		byIIN[p.Slug] = p.IIN
	}
	for _, c := range []struct{ name, got, want string }{
		{"ok/citizen", qakit.CitizenIIN, byIIN[qakit.Citizen]},
		{"ok/representative", qakit.RepresentativeIIN, byIIN[qakit.Representative]},
		{"ok/officer", qakit.OfficerIIN, byIIN[qakit.Officer]},
		{"ok/ward", qakit.WardIIN, demo.WardIIN},
		{"ok/child", qakit.ChildIIN, demo.ChildIIN},
		{"ok/young child", qakit.YoungChildIIN, demo.YoungChildIIN},
		{"ok/youngest child", qakit.YoungestChildIIN, demo.YoungestChildIIN},
		{"ok/power of attorney", qakit.PowerOfAttorney, demo.PowerOfAttorneyValid},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, c.got)
		})
	}
	for _, slug := range []string{qakit.Citizen, qakit.Representative, qakit.Operator, qakit.Clerk, qakit.Officer, qakit.Head} {
		require.Contains(t, byIIN, slug)
	}
}
