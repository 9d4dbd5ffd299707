package credentials_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/credentials"
)

const secret = "s3cr3t-value-never-printed"

func complete() map[string]string {
	return map[string]string{
		"client_id":      "abc123\n",
		"client_secret":  secret + "\n",
		"token_endpoint": "https://pool.auth.us-east-1.amazoncognito.com/oauth2/token",
		"scopes":         "MyService/weather_read  MyService/weather_write\n",
		"issuer":         "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
	}
}

func without(m map[string]string, keys ...string) map[string]string {
	for _, k := range keys {
		delete(m, k)
	}
	return m
}

func with(m map[string]string, k, v string) map[string]string {
	m[k] = v
	return m
}

func TestReadDir(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    credentials.Credentials
		wantErr string
	}{
		{
			name:  "complete",
			files: complete(),
			want: credentials.Credentials{
				ClientID:      "abc123",
				ClientSecret:  secret,
				TokenEndpoint: "https://pool.auth.us-east-1.amazoncognito.com/oauth2/token",
				Scopes:        []string{"MyService/weather_read", "MyService/weather_write"},
				Issuer:        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
			},
		},
		{
			name:  "optional keys absent",
			files: without(complete(), "scopes", "issuer"),
			want: credentials.Credentials{
				ClientID:      "abc123",
				ClientSecret:  secret,
				TokenEndpoint: "https://pool.auth.us-east-1.amazoncognito.com/oauth2/token",
			},
		},
		{
			name:  "rotation in progress",
			files: with(complete(), "client_secret_previous", "old-secret"),
			want: credentials.Credentials{
				ClientID:       "abc123",
				ClientSecret:   secret,
				PreviousSecret: "old-secret",
				TokenEndpoint:  "https://pool.auth.us-east-1.amazoncognito.com/oauth2/token",
				Scopes:         []string{"MyService/weather_read", "MyService/weather_write"},
				Issuer:         "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
			},
		},
		{name: "no client id", files: without(complete(), "client_id"), wantErr: "client_id"},
		{name: "no secret", files: without(complete(), "client_secret"), wantErr: "client_secret"},
		{name: "empty secret", files: with(complete(), "client_secret", " \n"), wantErr: "client secret is empty"},
		{name: "no endpoint", files: without(complete(), "token_endpoint"), wantErr: "token_endpoint"},
		{name: "endpoint not a URL", files: with(complete(), "token_endpoint", "pool.example/oauth2/token"), wantErr: "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := authtest.WriteSecretDir(dir, tt.files); err != nil {
				t.Fatal(err)
			}
			got, err := credentials.ReadDir(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadDir error = %v, want one mentioning %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error prints the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadDir (-want +got):\n%s", diff)
			}
		})
	}
}

// printVerbs are the fmt verbs tried on every value that holds a secret: the
// ones a log line uses, and ones that reach a value's fields without its String
// method (%x, %d: fmt formats a struct field by field with the same verb).
var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.4s"}

// leaks returns the forms of secret found in out: as it is, or hex-encoded (%x
// of a string).
func leaks(out, secret string) []string {
	var found []string
	for _, form := range []string{secret, fmt.Sprintf("%x", secret), fmt.Sprintf("%X", secret)} {
		if strings.Contains(out, form) {
			found = append(found, form)
		}
	}
	return found
}

func TestSecretNeverPrinted(t *testing.T) {
	c := credentials.Credentials{ClientID: "abc", ClientSecret: secret, PreviousSecret: secret + "-old", TokenEndpoint: "https://pool.example/oauth2/token"}
	values := map[string]any{
		"Secret":        c.ClientSecret,
		"*Secret":       &c.ClientSecret,
		"Credentials":   c,
		"*Credentials":  &c,
		"Static":        credentials.Static(c),
		"in a struct":   struct{ C credentials.Credentials }{c},
		"in a slice":    []credentials.Credentials{c},
		"Secret slice":  []credentials.Secret{c.ClientSecret},
		"in a map":      map[string]credentials.Credentials{"x": c},
		"as an any map": map[string]any{"x": c.ClientSecret},
	}
	for name, v := range values {
		for _, verb := range printVerbs {
			if got := fmt.Sprintf(verb, v); leaks(got, secret) != nil {
				t.Errorf("Sprintf(%s) of %s = %s, contains the secret", verb, name, got)
			}
		}
	}
	if got := fmt.Sprintf("%v", c); !strings.Contains(got, "abc") || !strings.Contains(got, "[redacted]") {
		t.Errorf("Sprintf(%%v) = %s, want the client id and a placeholder", got)
	}
	if got := c.ClientSecret.Reveal(); got != secret {
		t.Errorf("Reveal = %q, want the secret", got)
	}
}

// TestSecretNeverEncoded covers the encoders that do not go through fmt: JSON
// (both examples log with slog's JSON handler), text marshalling, and slog's
// handlers, for a Secret alone and inside Credentials.
func TestSecretNeverEncoded(t *testing.T) {
	c := credentials.Credentials{ClientID: "abc", ClientSecret: secret, PreviousSecret: secret}
	outputs := map[string]func() (string, error){
		"json.Marshal Secret": func() (string, error) {
			b, err := json.Marshal(c.ClientSecret)
			return string(b), err
		},
		"json.Marshal Credentials": func() (string, error) {
			b, err := json.Marshal(c)
			return string(b), err
		},
		"MarshalText": func() (string, error) {
			b, err := c.ClientSecret.MarshalText()
			return string(b), err
		},
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		outputs[name] = func() (string, error) {
			var b bytes.Buffer
			log := slog.New(h(&b))
			log.Info("Credentials", "secret", c.ClientSecret, "credentials", c)
			log.Info("Credentials", slog.Any("secret", c.ClientSecret), slog.Group("g", "secret", c.ClientSecret))
			log.Info("Credentials", "pointer", &c, "static", credentials.Static(c), "nested", struct{ C credentials.Credentials }{c})
			return b.String(), nil
		}
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			got, err := out()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(got, secret) {
				t.Errorf("output contains the secret: %s", got)
			}
			if !strings.Contains(got, "[redacted]") {
				t.Errorf("output has no placeholder: %s", got)
			}
		})
	}
}

// TestScopesSplitOnSpaces: the scope list is space-delimited (RFC 6749 section
// 3.3); other white space belongs to a scope name and must not split it.
func TestScopesSplitOnSpaces(t *testing.T) {
	env := map[string]string{
		"M2M_CLIENT_ID":      "abc",
		"M2M_CLIENT_SECRET":  secret,
		"M2M_TOKEN_ENDPOINT": "http://localhost:9/oauth2/token",
		"M2M_SCOPES":         "a/b  c\td\u00a0e\u0085f ",
	}
	got, err := credentials.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a/b", "c\td\u00a0e\u0085f"}, got.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

// TestKeyNames pins the Secret's key names: they are the contract between the
// operator, which writes them, and every service that mounts the Secret.
func TestKeyNames(t *testing.T) {
	got := []string{
		credentials.KeyClientID, credentials.KeyClientSecret, credentials.KeyClientSecretPrevious,
		credentials.KeyClientSecretNext, credentials.KeyTokenEndpoint, credentials.KeyIssuer,
		credentials.KeyScopes, credentials.KeyUserPoolID,
	}
	want := []string{
		"client_id", "client_secret", "client_secret_previous",
		"client_secret_next", "token_endpoint", "issuer",
		"scopes", "user_pool_id",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key names (-want +got):\n%s", diff)
	}
	for _, k := range got {
		want := strings.HasPrefix(k, "client_secret")
		if credentials.IsSecretKey(k) != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", k, !want, want)
		}
	}
}

func TestDirReload(t *testing.T) {
	dir := t.TempDir()
	if err := authtest.WriteSecretDir(dir, complete()); err != nil {
		t.Fatal(err)
	}
	d, err := credentials.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		files       map[string]string
		wantChanged bool
		wantErr     bool
		wantSecret  credentials.Secret
		wantPrev    credentials.Secret
	}{
		{name: "unchanged", files: complete(), wantSecret: secret},
		{name: "rotation starts", files: with(with(complete(), "client_secret", "new"), "client_secret_previous", secret), wantChanged: true, wantSecret: "new", wantPrev: secret},
		{name: "rotation ends", files: with(complete(), "client_secret", "new"), wantChanged: true, wantSecret: "new"},
		{name: "broken update keeps last good", files: without(complete(), "client_id"), wantErr: true, wantSecret: "new"},
	}
	for _, s := range steps {
		if err := authtest.WriteSecretDir(dir, s.files); err != nil {
			t.Fatal(err)
		}
		changed, err := d.Reload()
		if (err != nil) != s.wantErr || changed != s.wantChanged {
			t.Errorf("%s: Reload = %v, %v; want changed %v, error %v", s.name, changed, err, s.wantChanged, s.wantErr)
		}
		got := d.Credentials()
		if got.ClientSecret != s.wantSecret || got.PreviousSecret != s.wantPrev {
			t.Errorf("%s: secrets after reload differ from the want", s.name)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"M2M_CLIENT_ID":      "abc",
		"M2M_CLIENT_SECRET":  secret,
		"M2M_TOKEN_ENDPOINT": "http://localhost:9/oauth2/token",
		"M2M_SCOPES":         "a/b c/d",
	}
	got, err := credentials.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := credentials.Credentials{ClientID: "abc", ClientSecret: secret, TokenEndpoint: "http://localhost:9/oauth2/token", Scopes: []string{"a/b", "c/d"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromEnv (-want +got):\n%s", diff)
	}
	delete(env, "M2M_CLIENT_ID")
	if _, err := credentials.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("FromEnv without a client id: no error")
	}
}
