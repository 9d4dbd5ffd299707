package client

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/credentials"
)

// TestNothingPrintsASecret prints a TokenSource that holds a token, its Config and
// its Credentials with every fmt verb a log line might use and through both of
// slog's handlers, and looks for the client secret, the previous secret and the
// access token in the output, as they are and hex-encoded (%x of a string).
func TestNothingPrintsASecret(t *testing.T) {
	const previous = "previous-secret-value"
	srv := authtest.NewServer(t)
	srv.AddClient(clientID, secret1, scope)
	creds := credentials.Credentials{ClientID: clientID, ClientSecret: secret1, PreviousSecret: previous, TokenEndpoint: srv.TokenEndpoint, Scopes: []string{scope}}
	dir := t.TempDir()
	if err := authtest.WriteSecretDir(dir, map[string]string{
		credentials.KeyClientID: clientID, credentials.KeyClientSecret: secret1,
		credentials.KeyClientSecretPrevious: previous, credentials.KeyTokenEndpoint: srv.TokenEndpoint,
	}); err != nil {
		t.Fatal(err)
	}
	fromDir, err := credentials.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	staticCfg := Config{Credentials: credentials.Static(creds)}
	dirCfg := Config{Credentials: fromDir}
	ts, err := New(staticCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	tsDir, err := New(dirCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tsDir.Close()
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tsDir.Token(); err != nil {
		t.Fatal(err)
	}
	// A failed renewal keeps its error in the token source.
	srv.FailTokenRequests(400, "invalid_client")
	failing, err := New(Config{Credentials: credentials.Static(creds)})
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Close()
	if _, err := failing.Token(); err == nil {
		t.Fatal("token request that the server refuses: no error")
	}

	values := map[string]any{
		"*TokenSource":             ts,
		"*TokenSource from a Dir":  tsDir,
		"*TokenSource that failed": failing,
		"Config":                   staticCfg,
		"*Config":                  &staticCfg,
		"Config with a Dir":        dirCfg,
		"Credentials":              creds,
		"in a struct":              struct{ TS *TokenSource }{ts},
		"unexported in a struct":   struct{ ts *TokenSource }{ts},
		"Transport":                &Transport{Source: ts},
	}
	var out bytes.Buffer
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			fmt.Fprintf(&out, "%s %s: "+verb+"\n", name, verb, v)
		}
	}
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		log := slog.New(h)
		for name, v := range values {
			log.Info("value", "name", name, "value", v)
			log.Info("in a group", slog.Group("g", slog.Any("value", v)))
		}
	}
	got := out.String()
	for what, s := range map[string]string{"client secret": secret1, "previous secret": previous, "access token": tok.AccessToken} {
		for _, form := range []string{s, fmt.Sprintf("%x", s), fmt.Sprintf("%X", s)} {
			if i := strings.Index(got, form); i >= 0 {
				line := got[strings.LastIndexByte(got[:i], '\n')+1:]
				line, _, _ = strings.Cut(line, "\n")
				t.Errorf("the %s is printed: %s", what, line)
			}
		}
	}
	// What is printed still says which client it is.
	for _, line := range []string{fmt.Sprint(ts), fmt.Sprintf("%+v", staticCfg)} {
		if !strings.Contains(line, clientID) {
			t.Errorf("%q does not name the client", line)
		}
	}
}
