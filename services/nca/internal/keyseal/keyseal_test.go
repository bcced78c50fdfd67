package keyseal_test

import (
	"crypto"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/nca/internal/keyseal"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key, err := pki.NewKey(pki.ECDSAP256)
	require.NoError(t, err)
	for _, pass := range []string{"", "correct horse battery staple"} {
		b, err := keyseal.Seal(key, pass)
		require.NoError(t, err)
		got, err := keyseal.Open(b, pass)
		require.NoError(t, err)
		require.True(t, key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public()))
	}
	sealed, err := keyseal.Seal(key, "secret1")
	require.NoError(t, err)
	_, err = keyseal.Open(sealed, "wrong")
	require.ErrorIs(t, err, keyseal.ErrPassphrase)
	_, err = keyseal.Open(sealed, "")
	require.ErrorContains(t, err, "EGOV_NCA_KEY_PASSPHRASE")
	_, err = keyseal.Open([]byte("garbage"), "x")
	require.Error(t, err)
	_, err = keyseal.Open(sealed[:25], "secret1")
	require.Error(t, err)
}
