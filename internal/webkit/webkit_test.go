package webkit

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/egov-suite/egov/envelope"
)

func TestSignInRefusal(t *testing.T) {
	texts := map[string]string{"err_no_signature": "нет подписи", "err_challenge": "вызов устарел"}
	for _, c := range []struct {
		name   string
		err    error
		lang   string
		want   string
		status int
	}{
		{"no signature", fmt.Errorf("form: %w", ErrNoSignature), "ru", "нет подписи", http.StatusUnprocessableEntity},
		{"stale challenge", ErrChallenge, "ru", "вызов устарел", http.StatusUnprocessableEntity},
		{"revoked", &envelope.Error{Code: envelope.CodeRevoked}, "ru", "регистрационное свидетельство отозвано", http.StatusUnprocessableEntity},
		{"status unknown", &envelope.Error{Code: envelope.CodeStatusUnavailable}, "ru", "Повторите через минуту", http.StatusServiceUnavailable},
		{"status unknown, kk", &envelope.Error{Code: envelope.CodeStatusUnavailable}, "kk", "қайталаңыз", http.StatusServiceUnavailable},
		{"the server's own", errors.New("database down"), "ru", "", http.StatusInternalServerError},
	} {
		msg, status := SignInRefusal(c.err, c.lang, texts)
		if status != c.status || (c.want == "" && msg != "") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: got %q, %d; want %q, %d", c.name, msg, status, c.want, c.status)
		}
	}
}
