package client

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// A TokenSource holds a client secret (in its credentials) and an access token;
// neither may reach a log. fmt would print both from the unexported fields of a
// *TokenSource with %v, and slog's text handler formats values with %+v, so the
// token source, and its Config, print and log what identifies them and nothing
// secret, whatever the verb.
var (
	_ fmt.Formatter  = (*TokenSource)(nil)
	_ slog.LogValuer = (*TokenSource)(nil)
	_ fmt.Formatter  = Config{}
	_ fmt.GoStringer = Config{}
	_ slog.LogValuer = Config{}
)

// tokenSourceView is what a TokenSource shows of itself.
type tokenSourceView struct {
	ClientID      string
	TokenEndpoint string
	Scopes        []string
	HasToken      bool
}

func (ts *TokenSource) view() tokenSourceView {
	c := ts.cfg.Credentials.Credentials()
	return tokenSourceView{ClientID: c.ClientID, TokenEndpoint: c.TokenEndpoint, Scopes: c.Scopes, HasToken: ts.cur.Load() != nil}
}

// Format prints the client id, token endpoint and scopes of the token source and
// whether it holds a token; never the secret or the token.
func (ts *TokenSource) Format(f fmt.State, verb rune) {
	if ts == nil {
		io.WriteString(f, "<nil>")
		return
	}
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, "&client.TokenSource"+strings.TrimPrefix(fmt.Sprintf("%#v", ts.view()), "client.tokenSourceView"))
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), ts.view())
}

// LogValue logs what Format prints.
func (ts *TokenSource) LogValue() slog.Value {
	if ts == nil {
		return slog.StringValue("<nil>")
	}
	v := ts.view()
	return slog.GroupValue(
		slog.String("clientID", v.ClientID),
		slog.String("tokenEndpoint", v.TokenEndpoint),
		slog.Any("scopes", v.Scopes),
		slog.Bool("hasToken", v.HasToken),
	)
}

// configFields is Config without its methods, for Format: its fields print
// through their own methods (credentials.Static and Credentials redact).
type configFields Config

// Format prints the configuration with any verb; the credentials sources of
// package credentials print their secrets as a placeholder.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), configFields(c))
}

// GoString prints the configuration as Go syntax, secrets as a placeholder.
func (c Config) GoString() string {
	return "client.Config" + strings.TrimPrefix(fmt.Sprintf("%#v", configFields(c)), "client.configFields")
}

// LogValue logs the credentials source (redacted by its own LogValue).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("credentials", c.Credentials))
}
