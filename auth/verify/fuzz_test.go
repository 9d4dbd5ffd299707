package verify

import (
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/auth/authtest"
)

// FuzzVerify feeds arbitrary strings to the verifier. Whatever the input, it must
// not panic, and it must accept nothing but the one token the issuer signed:
// every mutation of a valid token is a forgery.
func FuzzVerify(f *testing.F) {
	srv, _, v := setup(f, func(c *Config) { c.CacheSize = -1 })
	valid := srv.AccessToken("caller", scope)
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(valid[:len(valid)-8] + "\n" + valid[len(valid)-8:])
	f.Add(authtest.Encode(map[string]any{"alg": "none"}) + "." + parts[1] + ".")
	f.Add(authtest.Encode(map[string]any{"alg": "RS256", "kid": srv.KeyID(), "jwk": map[string]any{"kty": "RSA"}}) + "." + parts[1] + "." + parts[2])
	f.Add(authtest.Encode(map[string]any{"alg": "RS256", "kid": []int{1}}) + "." + parts[1] + "." + parts[2])
	f.Add(authtest.Encode("x") + "." + authtest.Encode(map[string]any{"exp": 1e300}) + "." + parts[2])
	f.Add(parts[0] + "." + authtest.Encode(map[string]any{"exp": "x", "iss": 1, "scope": []string{}}) + "." + parts[2])
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(t.Context(), token)
		if err == nil && token != valid {
			t.Fatalf("accepted a token the issuer did not sign: %q", token)
		}
		if err != nil && c != nil {
			t.Fatal("claims returned with an error")
		}
		if err != nil && Reason(err) == "other" {
			t.Fatalf("rejection without a reason: %v", err)
		}
	})
}
