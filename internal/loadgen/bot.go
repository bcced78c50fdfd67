package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/qakit"
)

// bot is the provider's staff of one region played by a program, for load on a passport that is not
// fully automated: the clerk, the head and the officer each do, through АРМ like a person and with
// their own keys, whatever step the case page offers them — pass it on, assign the officer, approve,
// sign the result — until the case waits for no one of them.
type bot struct {
	staff []*qakit.Staff
}

func newBot(ctx context.Context, target *qakit.Target, region string) (*bot, error) {
	b := &bot{}
	for _, slug := range []string{qakit.Clerk, qakit.Head, qakit.Officer} {
		s, err := target.Staff(ctx, slug, region)
		if err != nil {
			return nil, fmt.Errorf("loadgen: the bot's %s in region %s: %w", slug, region, err)
		}
		b.staff = append(b.staff, s)
	}
	return b, nil
}

// startBots signs a bot in for every region whose passports in work have staff steps, and runs workers
// that take each registered case (application id, registration number) to its region's bot.
func startBots(ctx context.Context, target *qakit.Target, work []job, numbers <-chan [2]string, passportOf func(string) *catalog.Passport,
	workers int, log *slog.Logger) error {
	bots := map[string]*bot{}
	for _, j := range work {
		if !needsStaff(j.p) || bots[j.p.Region] != nil {
			continue
		}
		b, err := newBot(ctx, target, j.p.Region)
		if err != nil {
			return err
		}
		bots[j.p.Region] = b
	}
	for range workers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-numbers:
					p := passportOf(n[0])
					if p == nil || !needsStaff(p) {
						continue // fully automated
					}
					if err := bots[p.Region].handle(ctx, n[1]); err != nil {
						log.WarnContext(ctx, "loadgen bot", "number", n[1], "error", err)
					}
				}
			}
		}()
	}
	return nil
}

var assigneeRe = regexp.MustCompile(`name="assignee" id="assignee-select"><option value="([^"]+)"`)

// maxActs bounds the actions on one case (the longest passport has five steps), so that a case page
// offering the same action again and again cannot hold a worker.
const maxActs = 12

// stepRe finds the case's current step on its page, by the role it waits for (the page names the role
// for people and carries its code for machines); a decided and signed case has none (it stays among the
// open cases until its result is delivered).
var stepRe = regexp.MustCompile(`id="step" data-performer="[^"]+"`)

// handle takes one case through АРМ: round after round, each member of the staff does whatever the
// page offers them, until the case has no current step or has left the open cases. A step the system
// is doing (a signature being time-stamped, a result being sent) shows no action to anyone for a
// moment: the bot asks again.
func (b *bot) handle(ctx context.Context, number string) error {
	acts := 0
	deadline := time.Now().Add(time.Minute)
	for {
		acted := false
		for _, who := range b.staff {
			_, pg, err := who.Case(ctx, number)
			if err != nil {
				return err
			}
			if !stepRe.MatchString(pg.Body) {
				return nil // done
			}
			kind := ""
			switch {
			case strings.Contains(pg.Body, `id="complete"`):
				kind = "complete"
				fields := url.Values{}
				if m := assigneeRe.FindStringSubmatch(pg.Body); m != nil {
					fields.Set("assignee", m[1])
				}
				pg, err = who.ActOn(ctx, pg, kind, fields)
			case strings.Contains(pg.Body, `id="decide"`):
				kind = "decide"
				pg, err = who.ActOn(ctx, pg, kind, url.Values{"outcome": {"approved"}})
			case strings.Contains(pg.Body, `id="sign"`):
				kind = "sign"
				pg, err = who.SignResultOn(ctx, pg)
			default:
				continue // nothing for this member of the staff now
			}
			if err == nil {
				err = pg.Err()
			}
			if err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			acted = true
			if acts++; acts > maxActs {
				return fmt.Errorf("case %s still offers actions after %d", number, maxActs)
			}
		}
		switch {
		case acted:
		case time.Now().After(deadline):
			return fmt.Errorf("case %s waits at a step none of the staff can do", number)
		default:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
