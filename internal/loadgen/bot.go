package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/egov-suite/egov/qakit"
)

// bot is the provider's staff played by a program, for load on a passport that is not automated: the
// clerk passes each case on, the officer approves it and signs the result, each through АРМ like a
// person, with their own keys.
type bot struct {
	clerk, officer *qakit.Staff
}

func newBot(ctx context.Context, rshep, keys, region string) (*bot, error) {
	clerk, err := qakit.NewStaff(ctx, rshep, keys, "clerk-pavlodar", region)
	if err != nil {
		return nil, err
	}
	officer, err := qakit.NewStaff(ctx, rshep, keys, "officer-pavlodar", region)
	if err != nil {
		return nil, err
	}
	return &bot{clerk: clerk, officer: officer}, nil
}

func (b *bot) run(ctx context.Context, numbers <-chan [2]string, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-numbers:
			if err := b.handle(ctx, n[1]); err != nil {
				log.WarnContext(ctx, "loadgen bot", "number", n[1], "error", err)
			}
		}
	}
}

// handle takes one case through АРМ: whatever the page offers each role, the bot does.
func (b *bot) handle(ctx context.Context, number string) error {
	for _, who := range []*qakit.Staff{b.clerk, b.officer, b.officer} {
		_, pg, err := who.Case(ctx, number)
		if err != nil {
			return err
		}
		kind := ""
		switch {
		case strings.Contains(pg.Body, `id="complete"`):
			kind = "complete"
			pg, err = who.ActOn(ctx, pg, kind, nil)
		case strings.Contains(pg.Body, `id="decide"`):
			kind = "decide"
			pg, err = who.ActOn(ctx, pg, kind, map[string][]string{"outcome": {"approved"}})
		case strings.Contains(pg.Body, `id="sign"`):
			kind = "sign"
			pg, err = who.SignResultOn(ctx, pg)
		default:
			continue // nothing for this role now
		}
		if err == nil {
			err = pg.Err()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	return nil
}
