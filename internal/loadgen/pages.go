package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/qakit"
)

// PagesOptions configure the page-load run.
type PagesOptions struct {
	// Portal is the portal's base URL.
	Portal string
	// Keys is the folder of the demo key files (keys/ beside endpoints.json).
	Keys string
	// Users are the sessions signed in at once: each is a sign-in of Асель with her AUTH key (an account
	// opens only with its owner's certificate, and the demo citizens are the people with key files).
	// Her history holds Drafts applications.
	Users  int
	Drafts int
	// Concurrency is the number of clients asking at once.
	Concurrency int
	// Duration is how long each page is asked for.
	Duration time.Duration
}

// PageStats are the figures of one page.
type PageStats struct {
	Page     string
	Requests int
	Errors   int
	PerSec   float64
	P50, P99 time.Duration
}

// PagesReport is the result: the cabinet and history pages, and /livez as the baseline (the same
// server's cheapest answer, through the same middleware stack).
type PagesReport struct {
	Users, Concurrency int
	Pages              []PageStats
}

func (r *PagesReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "portal pages: %d signed-in users, %d concurrent clients\n", r.Users, r.Concurrency)
	fmt.Fprintf(&b, "  %-12s %9s %7s %10s %10s %10s\n", "page", "requests", "errors", "req/s", "p50", "p99")
	for _, p := range r.Pages {
		fmt.Fprintf(&b, "  %-12s %9d %7d %10.0f %10s %10s\n", p.Page, p.Requests, p.Errors, p.PerSec, ms(p.P50), ms(p.P99))
	}
	if len(r.Pages) > 0 && r.Pages[0].PerSec > 0 {
		base := r.Pages[0]
		for _, p := range r.Pages[1:] {
			fmt.Fprintf(&b, "  %s: %.1f%% of the baseline's throughput, p50 %.1f× the baseline's\n", p.Page, 100*p.PerSec/base.PerSec,
				float64(p.P50)/float64(max(base.P50, time.Microsecond)))
		}
	}
	return b.String()
}

// citizen is one signed-in user's HTTP client (its cookie jar holds the session).
type citizen struct {
	client *http.Client
}

// Pages signs the sessions in, fills the history, then measures the pages.
func Pages(ctx context.Context, o PagesOptions) (*PagesReport, error) {
	users := make([]*citizen, o.Users)
	errs := make([]error, o.Users)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			users[i], errs[i] = session(ctx, o.Portal, o.Keys)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := fillHistory(ctx, o.Portal, o.Keys, o.Drafts); err != nil {
		return nil, err
	}
	r := &PagesReport{Users: o.Users, Concurrency: o.Concurrency}
	for _, page := range []string{"/livez", "/cabinet", "/history"} {
		r.Pages = append(r.Pages, measure(ctx, o, users, page))
	}
	return r, nil
}

// session is one signed-in session of Асель.
func session(ctx context.Context, portal, keys string) (*citizen, error) {
	p, err := asel(ctx, portal, keys)
	if err != nil {
		return nil, err
	}
	return &citizen{client: p.Client()}, nil
}

// fillHistory leaves drafts applications in Асель's history (her ward's guardianship certificate).
func fillHistory(ctx context.Context, portal, keys string, drafts int) error {
	p, err := asel(ctx, portal, keys)
	if err != nil {
		return err
	}
	const path = "/services/guardianship-certificate/27"
	for range drafts {
		pg, err := p.Submit(ctx, path, qakit.Form{Path: path, Fields: map[string]string{"ward_iin": demo.WardIIN}})
		if err == nil {
			err = pg.Err()
		}
		if err != nil {
			return fmt.Errorf("loadgen: a draft: %w", err)
		}
	}
	return nil
}

// measure asks for page with every user's session, round robin, from o.Concurrency clients.
func measure(ctx context.Context, o PagesOptions, users []*citizen, page string) PageStats {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var all Latencies
	errs := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine Latencies
			bad := 0
			for i := w; ctx.Err() == nil; i += o.Concurrency {
				u := users[i%len(users)]
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.Portal+page, nil)
				resp, err := u.client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	return PageStats{Page: page, Requests: len(all), Errors: errs, PerSec: float64(len(all)) / took.Seconds(),
		P50: all.Quantile(0.5), P99: all.Quantile(0.99)}
}
