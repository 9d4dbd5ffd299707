package verify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cognito-m2m/operator/auth/authtest"
)

// BenchmarkVerify verifies one Cognito-shaped access token with this package
// (cold: signature and claims every time; cached: a token seen before) and,
// side by side, with the raw RSA verification that any verifier must do (the
// floor) and with other libraries. The jwx baseline is only compiled with the
// jwxbench build tag (see bench_jwx_test.go).
func BenchmarkVerify(b *testing.B) {
	srv := authtest.NewServer(b) // real clock: the other libraries use it
	token := srv.AccessToken("caller-client-id", "MyService/weather_read", "MyService/weather_write")
	pub := srv.PublicKey()
	jwks := srv.JWKS()

	newVerifier := func(cacheSize int) *Verifier {
		v, err := New(Config{Issuer: srv.Issuer, CacheSize: cacheSize})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		return v
	}
	check := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}

	b.Run("floor-crypto-rsa", func(b *testing.B) {
		for b.Loop() {
			i := strings.LastIndexByte(token, '.')
			sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
			check(err)
			sum := sha256.Sum256([]byte(token[:i]))
			check(rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig))
		}
	})
	b.Run("ours-cold", func(b *testing.B) {
		v := newVerifier(-1)
		for b.Loop() {
			_, err := v.Verify(token)
			check(err)
		}
	})
	b.Run("ours-cached", func(b *testing.B) {
		v := newVerifier(0)
		_, err := v.Verify(token)
		check(err)
		for b.Loop() {
			_, err := v.Verify(token)
			check(err)
		}
	})
	b.Run("golang-jwt+keyfunc", func(b *testing.B) {
		kf, err := keyfunc.NewJWKSetJSON(jwks)
		check(err)
		p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(srv.Issuer), jwt.WithExpirationRequired())
		for b.Loop() {
			_, err := p.Parse(token, kf.Keyfunc)
			check(err)
		}
	})
	b.Run("go-oidc", func(b *testing.B) {
		ov := oidc.NewVerifier(srv.Issuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub}},
			&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{"RS256"}})
		ctx := context.Background()
		for b.Loop() {
			_, err := ov.Verify(ctx, token)
			check(err)
		}
	})
	benchJWX(b, token, jwks, srv.Issuer)
}

// BenchmarkVerifyParallel is the cached path under concurrent requests.
func BenchmarkVerifyParallel(b *testing.B) {
	srv := authtest.NewServer(b)
	v, err := New(Config{Issuer: srv.Issuer})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, 16)
	for i := range tokens {
		tokens[i] = srv.AccessToken("caller", "MyService/weather_read")
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
