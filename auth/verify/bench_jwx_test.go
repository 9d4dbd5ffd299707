//go:build jwxbench

// The jwx baseline needs github.com/lestrrat-go/dsig, which go.mod does not list
// yet, so it is built only on request:
//
//	cp go.mod /tmp/bench.mod && cp go.sum /tmp/bench.sum
//	go test -modfile=/tmp/bench.mod -mod=mod -tags jwxbench -run '^$' -bench Verify ./auth/verify

package verify

import (
	"testing"

	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

func benchJWX(b *testing.B, token string, jwks []byte, issuer string) {
	b.Run("jwx", func(b *testing.B) {
		set, err := jwxjwk.Parse(jwks)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := jwxjwt.Parse([]byte(token), jwxjwt.WithKeySet(set), jwxjwt.WithIssuer(issuer)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
