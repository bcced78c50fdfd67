package loadgen

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// bot is the provider's staff played by a program, for load on a passport that is not automated: the
// clerk passes each case on, the officer approves it and signs the result, each through АРМ like a
// person, with their own keys.
type bot struct {
	clerk, officer *web
}

func newBot(ctx context.Context, rshep, keys, region string) (*bot, error) {
	in := url.Values{"region": {region}}
	clerk, err := person(ctx, rshep, keys, "clerk-pavlodar", "/arm/login", "/arm/login", in)
	if err != nil {
		return nil, err
	}
	officer, err := person(ctx, rshep, keys, "officer-pavlodar", "/arm/login", "/arm/login", in)
	if err != nil {
		return nil, err
	}
	return &bot{clerk: clerk, officer: officer}, nil
}

var (
	stepRe       = regexp.MustCompile(`name="step" value="([^"]+)"`)
	resultSignRe = regexp.MustCompile(`id="sign-ncalayer" data-sign="([^"]+)"`)
)

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
	for _, who := range []*web{b.clerk, b.officer, b.officer} {
		page, path, err := who.do(ctx, http.MethodGet, "/arm/find?number="+url.QueryEscape(number), "", nil)
		if err != nil {
			return err
		}
		token := csrfRe.FindStringSubmatch(page)
		step := stepRe.FindStringSubmatch(page)
		if token == nil || step == nil {
			continue // nothing for this role now
		}
		v := url.Values{"csrf": {token[1]}, "step": {step[1]}}
		switch {
		case strings.Contains(page, `id="complete"`):
			v.Set("kind", "complete")
		case strings.Contains(page, `id="decide"`):
			v.Set("kind", "decide")
			v.Set("outcome", "approved")
		case strings.Contains(page, `id="sign"`):
			m := resultSignRe.FindStringSubmatch(page)
			if m == nil {
				return errors.New("no result to sign")
			}
			raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
			if err != nil {
				return err
			}
			sig, err := who.sign.Sign(raw)
			if err != nil {
				return err
			}
			v.Set("kind", "sign")
			v.Set("signature", base64.StdEncoding.EncodeToString(sig))
		default:
			continue
		}
		if _, _, err := who.do(ctx, http.MethodPost, path+"/act", "application/x-www-form-urlencoded", strings.NewReader(v.Encode())); err != nil {
			return fmt.Errorf("%s: %w", v.Get("kind"), err)
		}
	}
	return nil
}
