package site

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
//   - a browser that has signed in to an account before carries a cookie (known device): its attempts
//     at that account count against that device only ("dev:<hash of the cookie>", MaxFailures). Nobody
//     else holds that cookie, so no guesser, at whatever address, slows the citizen's own browser down —
//     there is no lock of the account as such, even when every client shares one address (an ingress
//     without EGOV_TRUSTED_PROXIES).
//   - any other browser is held per account and client address ("acct:<iin>|<address>", MaxFailures)
//     and per client address ("ip:<address>", four times MaxFailures: one address trying many accounts).
//   - from the limit on, the key waits, longer after every further attempt (30 s, 1 min, 2 min … up to
//     Lockout).
//   - the certificate sign-in is never throttled: the owner can always come in with the AUTH key.
//
// An attempt is counted before its password is checked (reserve), in one statement per key that also
// sets the wait, so that guesses sent at once cannot all pass before the wait grows; a right password
// gives its attempt back (release).
//
// The client's address is the peer's, or, behind a trusted proxy (EGOV_TRUSTED_PROXIES), the rightmost
// untrusted hop of X-Forwarded-For; X-Forwarded-For from a peer that is not trusted is logged once as a
// warning (the operator probably forgot EGOV_TRUSTED_PROXIES).
//
// The counts are kept in the throttle table; a known device is the SHA-256 of a random cookie, per
// account, in known_devices.

// knownCookie names the cookie of a browser that has signed in to an account before.
const knownCookie = "portal_known"

// knownTTL is how long a browser stays known after its last sign-in.
const knownTTL = 90 * 24 * time.Hour

// throttleKey is one counter and its limit.
type throttleKey struct {
	key   string
	limit int
	// pair is the counter of this browser (device) or this account from this address: a right
	// password clears it.
	pair bool
}

// throttleKeys are the counters a password sign-in to account from the request's client is held to.
func (s *Site) throttleKeys(r *http.Request, account string) ([]throttleKey, error) {
	if s.web.ForwardedByUntrusted(r) {
		s.forwardWarn.Do(func() {
			s.o.Log.WarnContext(r.Context(), "portal: X-Forwarded-For from a peer that is not a trusted proxy: it is ignored and every "+
				"client behind that peer shares its address in the sign-in throttle (set EGOV_TRUSTED_PROXIES to the ingress's addresses)",
				"peer", r.RemoteAddr)
		})
	}
	device, err := s.knownDevice(r, account)
	if err != nil {
		return nil, err
	}
	if device != "" {
		return []throttleKey{{key: "dev:" + device, limit: s.o.MaxFailures, pair: true}}, nil
	}
	addr := s.web.ClientAddr(r)
	return []throttleKey{
		{key: "acct:" + account + "|" + addr, limit: s.o.MaxFailures, pair: true},
		{key: "ip:" + addr, limit: 4 * s.o.MaxFailures},
	}, nil
}

// knownDevice is the hash (hex) of the request's known-device cookie when it is one of account's, or "".
func (s *Site) knownDevice(r *http.Request, account string) (string, error) {
	c, err := r.Cookie(knownCookie)
	if err != nil || c.Value == "" {
		return "", nil //nolint:nilerr // no cookie: an unknown browser
	}
	h := sha(c.Value)
	var ok bool
	err = s.o.DB.QueryRow(r.Context(), `SELECT EXISTS (SELECT 1 FROM known_devices WHERE token_sha256 = $1 AND iin = $2 AND expires_at > $3)`,
		h, account, s.o.Now()).Scan(&ok)
	if err != nil || !ok {
		return "", err
	}
	return hex.EncodeToString(h), nil
}

// reserve counts a sign-in attempt against every key before its password is checked, or, when a key
// must wait, counts nothing and says how long. The keys' rows are locked (SELECT … FOR UPDATE) in one
// transaction while the count and the wait are read and written, so concurrent attempts are counted one
// after another, each seeing the wait the one before set, and an attempt refused by one key is not
// counted by another.
func (s *Site) reserve(ctx context.Context, keys []throttleKey) (time.Duration, error) {
	now := s.o.Now()
	var wait time.Duration
	err := pgx.BeginFunc(ctx, s.o.DB, func(tx pgx.Tx) error {
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `INSERT INTO throttle (key, failures, window_start) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING`,
				k.key, now); err != nil {
				return err
			}
			var c counter
			if err := tx.QueryRow(ctx, `SELECT failures, window_start, locked_until FROM throttle WHERE key = $1 FOR UPDATE`,
				k.key).Scan(&c.failures, &c.windowStart, &c.lockedUntil); err != nil {
				return err
			}
			w, next := s.attempt(c, k.limit, now)
			if w > 0 {
				wait = max(wait, w)
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE throttle SET failures = $2, window_start = $3, locked_until = $4 WHERE key = $1`,
				k.key, next.failures, next.windowStart, next.lockedUntil); err != nil {
				return err
			}
		}
		if wait > 0 {
			return errWait
		}
		return nil
	})
	if errors.Is(err, errWait) {
		return wait, nil
	}
	if err != nil {
		return 0, err
	}
	_, _ = s.o.DB.Exec(ctx, `DELETE FROM throttle WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $2)`,
		now.Add(-s.o.Window), now)
	return 0, nil
}

// counter is one throttle row.
type counter struct {
	failures    int
	windowStart time.Time
	lockedUntil *time.Time
}

// attempt is the rule of one attempt against a counter at now: while the counter waits, the attempt is
// refused (the wait returned) and not counted; otherwise it is counted (afresh once the window has
// passed), and from the limit on it makes the counter wait, longer each time.
func (s *Site) attempt(c counter, limit int, now time.Time) (time.Duration, counter) {
	if c.lockedUntil != nil && c.lockedUntil.After(now) {
		return c.lockedUntil.Sub(now), c
	}
	if c.windowStart.Before(now.Add(-s.o.Window)) {
		c = counter{windowStart: now}
	}
	c.failures++
	if c.failures >= limit {
		until := now.Add(s.delay(c.failures - limit + 1))
		c.lockedUntil = &until
	}
	return 0, c
}

// errWait rolls reserve's transaction back: an attempt that must wait is not counted.
var errWait = errors.New("wait")

// delay is the wait after the n-th attempt from the limit on (n ≥ 1): 30 s doubling, at most Lockout.
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

// succeed, after a right password to a proven account, clears the browser's own counter (the device's,
// or the account-and-address one), gives the address back its attempt (not more: one good password must
// not let a guesser try other accounts afresh) and makes the browser a known device of the account.
func (s *Site) succeed(w http.ResponseWriter, r *http.Request, account string, keys []throttleKey) error {
	for _, k := range keys {
		var err error
		if k.pair {
			_, err = s.o.DB.Exec(r.Context(), `DELETE FROM throttle WHERE key = $1`, k.key)
		} else {
			_, err = s.o.DB.Exec(r.Context(), `UPDATE throttle SET failures = failures - 1,
				locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
				WHERE key = $1 AND failures > 0`, k.key, k.limit)
		}
		if err != nil {
			return err
		}
	}
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
