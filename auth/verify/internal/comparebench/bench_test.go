package comparebench

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/verify"
)

// verifier is one way to verify a token; it fails the benchmark on a rejection.
type verifier struct {
	name   string
	verify func(token string) error
}

// verifiers returns a Cognito-shaped access token (RS256, 2048-bit key) and
// every way of verifying it that is compared, the floor first. All of them
// check the signature; the libraries also check exp and iss as configured here.
func verifiers(b *testing.B) (string, []verifier) {
	srv := authtest.NewServer(b) // real clock: the other libraries use it
	token := srv.AccessToken("caller-client-id", "MyService/weather_read", "MyService/weather_write")
	pub := srv.PublicKey()
	jwks := srv.JWKS()

	ours := func(cacheSize int) func(string) error {
		v, err := verify.New(verify.Config{Issuer: srv.Issuer, CacheSize: cacheSize})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		return func(t string) error { _, err := v.Verify(context.Background(), t); return err }
	}
	kf, err := keyfunc.NewJWKSetJSON(jwks)
	if err != nil {
		b.Fatal(err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(srv.Issuer), jwt.WithExpirationRequired())
	ov := oidc.NewVerifier(srv.Issuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub}},
		&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{"RS256"}})
	set, err := jwxjwk.Parse(jwks)
	if err != nil {
		b.Fatal(err)
	}

	return token, []verifier{
		{"floor-crypto-rsa", func(t string) error {
			// What any verifier must do: decode the signature, hash the
			// signing input, check the RSA signature.
			i := strings.LastIndexByte(t, '.')
			sig, err := base64.RawURLEncoding.DecodeString(t[i+1:])
			if err != nil {
				return err
			}
			sum := sha256.Sum256([]byte(t[:i]))
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
		}},
		{"ours-cold", ours(-1)},
		{"ours-cached", ours(0)},
		{"golang-jwt+keyfunc", func(t string) error { _, err := parser.Parse(t, kf.Keyfunc); return err }},
		{"go-oidc", func(t string) error { _, err := ov.Verify(context.Background(), t); return err }},
		{"jwx", func(t string) error {
			_, err := jwxjwt.Parse([]byte(t), jwxjwt.WithKeySet(set), jwxjwt.WithIssuer(srv.Issuer))
			return err
		}},
	}
}

// BenchmarkVerify verifies the same token with each verifier, one
// sub-benchmark each, in one run. Besides wall-clock time, bytes and
// allocations, it reports the CPU time of the benchmark's thread per
// verification (cpu-ns/op, Linux only): on a shared machine the wall clock
// counts the time spent waiting for a CPU, the thread's CPU time does not.
func BenchmarkVerify(b *testing.B) {
	token, vs := verifiers(b)
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if err := v.verify(token); err != nil {
				b.Fatal(err)
			}
			t0 := threadCPU()
			for b.Loop() {
				if err := v.verify(token); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := threadCPU() - t0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
