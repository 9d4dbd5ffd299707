package verify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/auth/authtest"
)

// BenchmarkVerify verifies one Cognito-shaped access token with this package
// (cold: signature and claims every time; cached: a token seen before) and, side
// by side, with the raw RSA verification that any verifier must do (the floor).
// The comparison with other libraries is in the comparebench module
// (internal/comparebench), so that this module does not depend on them.
func BenchmarkVerify(b *testing.B) {
	srv := authtest.NewServer(b) // real clock
	token := srv.AccessToken("caller-client-id", "MyService/weather_read", "MyService/weather_write")
	pub := srv.PublicKey()

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
			_, err := v.Verify(context.Background(), token)
			check(err)
		}
	})
	b.Run("ours-cached", func(b *testing.B) {
		v := newVerifier(0)
		_, err := v.Verify(context.Background(), token)
		check(err)
		for b.Loop() {
			_, err := v.Verify(context.Background(), token)
			check(err)
		}
	})
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
			if _, err := v.Verify(context.Background(), tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
