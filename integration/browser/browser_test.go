// Package browser drives the portal, the ЦОН desk and АРМ РШЭП in a real headless Chromium against the
// real suite (egov dev, run as the binary), signing through the real local signer (egov ncalayer):
// the full guardianship-certificate flows of both channels and their refusals. Screenshots of the key
// pages are kept under integration/artifacts/screenshots.
package browser

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
)

// chromium finds the browser: EGOV_CHROMIUM, else Debian's chromium. A machine without one fails the
// test with what to install (make deps installs it as root).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EGOV_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install Debian's chromium (make deps does, as root) or set EGOV_CHROMIUM")
	return ""
}

// artifacts is where the screenshots go.
func artifacts(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "artifacts", "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// browser is one Chromium with one tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	mu   sync.Mutex
	urls []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	// The profile folder is removed after the browser has gone, not by t.TempDir, whose cleanup can
	// run while Chromium's helper processes still write there.
	profile, err := os.MkdirTemp("", "egov-chromium-")
	require.NoError(t, err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelC()
		cancelA()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	b := &browser{t: t, ctx: ctx, dir: artifacts(t)}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.urls = append(b.urls, e.Request.URL)
			b.mu.Unlock()
		}
	})
	require.NoError(t, chromedp.Run(ctx, network.Enable()))
	return b
}

// run runs actions with a bound on the whole.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc, body string
		_ = chromedp.Run(b.ctx, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
		b.t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// submit clicks sel, which leaves the page (a form's submit, a signing button that submits once the
// signer answers), and waits for the next page to load: the old page's marker is gone and the new one
// is complete. Evaluations that fail while the page is being replaced are tried again.
func submit(sel string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Evaluate(`window.__stale = true`, nil),
		chromedp.Click(sel, chromedp.ByQuery),
		chromedp.ActionFunc(func(ctx context.Context) error {
			for {
				var loaded bool
				err := chromedp.Evaluate(`!window.__stale && document.readyState === "complete"`, &loaded).Do(ctx)
				if err == nil && loaded {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("no new page after clicking %s: %w", sel, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		}),
	}
}

// text is the text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// shot saves a full-page screenshot.
func (b *browser) shot(name string) {
	b.t.Helper()
	var buf []byte
	b.run("screenshot "+name, chromedp.FullScreenshot(&buf, 100))
	require.NoError(b.t, os.WriteFile(filepath.Join(b.dir, name+".png"), buf, 0o644))
}

// until reloads url until the text of sel contains want.
func (b *browser) until(url, sel, want string, within time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := chromedp.Run(ctx, chromedp.Navigate(url), chromedp.Text(sel, &got, chromedp.ByQuery))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s has %q, not %q after %v (%v)", url, sel, got, want, within, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// untilClosed reloads an application's page until it is closed: its final status and every one before
// it are in.
func (b *browser) untilClosed(url string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var closed bool
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := chromedp.Run(ctx, chromedp.Navigate(url), chromedp.Evaluate(`document.getElementById("closed") !== null`, &closed))
		cancel()
		if err == nil && closed {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not closed after %v (%v)", url, within, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// statuses are the data-status attributes of the page's status table, in order.
func (b *browser) statuses() []string {
	b.t.Helper()
	var out []string
	b.run("statuses", chromedp.Evaluate(`Array.from(document.querySelectorAll("#statuses tr[data-status]")).map(r => r.dataset.status)`, &out))
	return out
}

// choosePerson makes the signer use a person's keys, on the signer's own page, as a person does.
func (b *browser) choosePerson(signer, person string) {
	b.t.Helper()
	b.run("choose "+person, chromedp.Navigate(signer), chromedp.SetValue("#person", person, chromedp.ByQuery),
		submit("#choose-person"), chromedp.WaitVisible("#chosen-sign", chromedp.ByQuery))
	require.Contains(b.t, b.text("#chosen-sign"), person)
}

// chooseKey makes the signer use one key file for its type.
func (b *browser) chooseKey(signer, file string) {
	b.t.Helper()
	b.run("choose "+file, chromedp.Navigate(signer), chromedp.Click(`input[value="`+file+`"]`, chromedp.ByQuery),
		submit("#choose-key"), chromedp.WaitVisible("#chosen-sign", chromedp.ByQuery))
}

// noPersonalDataInURLs checks every URL the browser asked for: no IIN of the cast in any.
func (b *browser) noPersonalDataInURLs(iins ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(b.t, b.urls)
	for _, u := range b.urls {
		for _, x := range iins {
			require.NotContains(b.t, u, x, "an IIN in a URL")
		}
	}
}

// scan writes a small PNG, as a scanner would make.
func scan(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 200, 255})
		}
	}
	p := filepath.Join(t.TempDir(), "скан-документов.png")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	require.NoError(t, f.Close())
	return p
}

// The cast (internal/demo).
const (
	asel       = "880512400011"
	ivanov     = "841103300017"
	ward       = "120921600010"
	missing    = "950708300016"
	poaValid   = "2026-ДОВ-000101"
	poaExpired = "2024-ДОВ-000077"
)

func suite(t *testing.T) *harness.Dev {
	t.Helper()
	dir, err := os.MkdirTemp("", "egov-browser-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	d := harness.StartDev(t, dir)
	require.NotEmpty(t, d.Endpoints.Signer, "egov dev runs the local signer")
	return d
}
