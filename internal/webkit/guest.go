package webkit

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
)

// The forms a browser sends before it has a session (sign-in, registration) are guarded too: a foreign
// page could otherwise sign a victim's browser into the attacker's account (login CSRF), and whatever the
// victim then types or applies for lands there. Such a form carries a pre-session token bound to a
// cookie of its own (the cookie holds a random value; the form the hash of it, so one cannot be made
// from the other), and the request must come from the site itself by Sec-Fetch-Site or Origin, which
// also turns away a sibling site that could plant cookies.

// guestCookie names the pre-session cookie.
func (s *Site) guestCookie() string { return s.o.Cookie + "_pre" }

func guestToken(cookie string) string {
	h := sha256.Sum256([]byte("guest-csrf:" + cookie))
	return hex.EncodeToString(h[:16])
}

// GuestCSRF is the pre-session CSRF token for the request's browser, setting its cookie when the
// browser has none yet. Call it before anything is written.
func (s *Site) GuestCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.guestCookie()); err == nil && len(c.Value) >= 32 {
		return guestToken(c.Value)
	}
	v := Random()
	// Lax, not Strict: a sign-in page reached by a link from elsewhere still sees the browser's cookie,
	// so it does not replace it under another tab's form. The token and the origin check are the guard.
	http.SetCookie(w, &http.Cookie{Name: s.guestCookie(), Value: v, Path: s.o.Prefix, HttpOnly: true, Secure: s.HTTPS(r),
		SameSite: http.SameSiteLaxMode})
	// The request goes on as if the browser had sent it: a page rendered after this call finds it.
	r.AddCookie(&http.Cookie{Name: s.guestCookie(), Value: v})
	return guestToken(v)
}

// ValidGuest reports whether a pre-session form came from this site and carries the token bound to the
// browser's pre-session cookie.
func (s *Site) ValidGuest(r *http.Request) bool {
	if s.origin.Check(r) != nil {
		return false
	}
	c, err := r.Cookie(s.guestCookie())
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(guestToken(c.Value))) == 1
}

// Guest guards a form posted without a session (sign-in, registration): a foreign or tokenless one is
// answered 403 in the user's language and next never runs.
func (s *Site) Guest(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.ValidGuest(r) {
			s.o.Log.InfoContext(r.Context(), "web: a sign-in form without a valid pre-session token or from another site refused",
				"path", r.URL.Path, "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
			s.Forbidden(w, r)
			return
		}
		next(w, r)
	}
}
