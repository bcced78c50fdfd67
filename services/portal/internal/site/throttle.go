package site

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/webkit"
)

// Password sign-in is throttled so that guessing is slow, without handing anyone a way to keep a
// citizen, or everyone behind one address, out:
//
//   - per account and client address ("acct:<iin>|<address>"): MaxFailures failures within Window,
//     then that pair waits, longer after every further failure (30 s, 1 min, 2 min … up to Lockout). A
//     guesser at another address does not slow the citizen down: there is no lock of the account as such.
//   - per client address ("ip:<address>", four times MaxFailures): one address trying many accounts
//     slows down the same way. A browser that has signed in to an account before carries a cookie
//     (known-device) that exempts it from its address's counter for that account, so a guesser behind
//     the same NAT or ingress does not keep the regular users of that address out.
//   - the certificate sign-in is never throttled: the owner can always come in with the AUTH key.
//
// The client's address is the peer's, or, behind a trusted proxy (EGOV_TRUSTED_PROXIES), the rightmost
// untrusted hop of X-Forwarded-For; without that configuration, everyone behind an ingress shares the
// ingress's address and only the per-account-and-address counter tells them apart.
//
// A failure's count is kept in the throttle table; a known device is the SHA-256 of a random cookie,
// per account, in known_devices.

// knownCookie names the cookie of a browser that has signed in to an account before.
const knownCookie = "portal_known"

// knownTTL is how long a browser stays known after its last sign-in.
const knownTTL = 90 * 24 * time.Hour

// throttleKey is one counter and its limit.
type throttleKey struct {
	key   string
	limit int
}

// throttleKeys are the counters a password sign-in to account from the request's client is held to.
func (s *Site) throttleKeys(r *http.Request, account string) ([]throttleKey, error) {
	addr := s.web.ClientAddr(r)
	keys := []throttleKey{{key: "acct:" + account + "|" + addr, limit: s.o.MaxFailures}}
	known, err := s.knownDevice(r, account)
	if err != nil {
		return nil, err
	}
	if !known {
		keys = append(keys, throttleKey{key: "ip:" + addr, limit: 4 * s.o.MaxFailures})
	}
	return keys, nil
}

func (s *Site) knownDevice(r *http.Request, account string) (bool, error) {
	c, err := r.Cookie(knownCookie)
	if err != nil || c.Value == "" {
		return false, nil //nolint:nilerr // no cookie: an unknown browser
	}
	var ok bool
	err = s.o.DB.QueryRow(r.Context(), `SELECT EXISTS (SELECT 1 FROM known_devices WHERE token_sha256 = $1 AND iin = $2 AND expires_at > $3)`,
		sha(c.Value), account, s.o.Now()).Scan(&ok)
	return ok, err
}

// waiting is how long the client must wait before the next attempt: the longest wait of its keys.
func (s *Site) waiting(ctx context.Context, keys []throttleKey) (time.Duration, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	var until *time.Time
	err := s.o.DB.QueryRow(ctx, `SELECT max(locked_until) FROM throttle WHERE key = ANY($1)`, names).Scan(&until)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	if until == nil {
		return 0, nil
	}
	return max(until.Sub(s.o.Now()), 0), nil
}

// delay is the wait after the n-th failure from the limit on (n ≥ 1): 30 s doubling, at most Lockout.
func (s *Site) delay(n int) time.Duration {
	d := 30 * time.Second
	for range min(n-1, 30) {
		d *= 2
		if d >= s.o.Lockout {
			break
		}
	}
	return min(d, s.o.Lockout)
}

// fail counts a failed sign-in against every key; from the limit on, each failure sets a longer wait.
func (s *Site) fail(ctx context.Context, keys []throttleKey) error {
	now := s.o.Now()
	for _, k := range keys {
		var failures int
		err := s.o.DB.QueryRow(ctx, `INSERT INTO throttle (key, failures, window_start) VALUES ($1, 1, $2)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN throttle.window_start < $2 - $3::interval THEN 1 ELSE throttle.failures + 1 END,
				window_start = CASE WHEN throttle.window_start < $2 - $3::interval THEN $2 ELSE throttle.window_start END,
				locked_until = CASE WHEN throttle.window_start < $2 - $3::interval THEN NULL ELSE throttle.locked_until END
			RETURNING failures`, k.key, now, s.o.Window).Scan(&failures)
		if err != nil {
			return err
		}
		if failures >= k.limit {
			if _, err := s.o.DB.Exec(ctx, `UPDATE throttle SET locked_until = $2 WHERE key = $1`, k.key, now.Add(s.delay(failures-k.limit+1))); err != nil {
				return err
			}
		}
	}
	_, _ = s.o.DB.Exec(ctx, `DELETE FROM throttle WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $2)`,
		now.Add(-s.o.Window), now)
	return nil
}

// succeed clears the account-and-address counter (not the address's: one good password must not let a
// guesser try other accounts afresh) and makes the browser a known device of the account.
func (s *Site) succeed(w http.ResponseWriter, r *http.Request, keys []throttleKey) error {
	if _, err := s.o.DB.Exec(r.Context(), `DELETE FROM throttle WHERE key = $1`, keys[0].key); err != nil {
		return err
	}
	account := r.PostFormValue("iin")
	token := webkit.Random()
	now := s.o.Now()
	if _, err := s.o.DB.Exec(r.Context(), `INSERT INTO known_devices (token_sha256, iin, expires_at) VALUES ($1, $2, $3)`,
		sha(token), account, now.Add(knownTTL)); err != nil {
		return err
	}
	_, _ = s.o.DB.Exec(r.Context(), `DELETE FROM known_devices WHERE expires_at < $1`, now)
	http.SetCookie(w, &http.Cookie{Name: knownCookie, Value: token, Path: "/login", HttpOnly: true, Secure: s.web.HTTPS(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(knownTTL / time.Second)})
	return nil
}

func sha(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// waitText says how long to wait, in words.
func waitText(d time.Duration, lang string) string {
	if d < time.Minute {
		return fmt.Sprintf("%d %s", max(int(d.Round(time.Second)/time.Second), 1), webkit.Pick(lang, "с", "сек"))
	}
	return fmt.Sprintf("%d %s", int((d+time.Minute-1)/time.Minute), webkit.Pick(lang, "мин", "мин"))
}
