package sidecar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fullConfig = `
caller:
  credentialsDir: /var/run/secrets/m2m
  tokenListen: 127.0.0.1:15000
  upstreams:
    - name: weather
      listen: 127.0.0.1:15001
      url: http://weather:8080
      timeout: 5s
service:
  listen: :8080
  upstream: http://127.0.0.1:8081
  issuerFile: /var/run/secrets/m2m/issuer
  leeway: 2s
  realm: weather
  stripHeaders: [X-User-Roles]
  routes:
    - path: /weatherforecast
      methods: [GET]
      scopes: [MyService/weather_read]
    - path: /healthz
      public: true
`

func TestParseConfig(t *testing.T) {
	got, err := ParseConfig([]byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Caller: &CallerConfig{
			CredentialsDir: "/var/run/secrets/m2m",
			TokenListen:    "127.0.0.1:15000",
			Upstreams:      []Upstream{{Name: "weather", Listen: "127.0.0.1:15001", URL: "http://weather:8080", Timeout: "5s"}},
		},
		Service: &ServiceConfig{
			Listen: ":8080", Upstream: "http://127.0.0.1:8081", IssuerFile: "/var/run/secrets/m2m/issuer",
			Leeway: "2s", Realm: "weather", StripHeaders: []string{"X-User-Roles"},
			Routes: []Route{
				{Path: "/weatherforecast", Methods: []string{"GET"}, Scopes: []string{"MyService/weather_read"}},
				{Path: "/healthz", Public: true},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	// JSON is YAML too.
	if _, err := ParseConfig([]byte(`{"caller": {"credentialsDir": "/d", "upstreams": [{"name": "a", "listen": "[::1]:1", "url": "https://a.example/base"}]}}`)); err != nil {
		t.Errorf("JSON configuration: %v", err)
	}

	path := filepath.Join(t.TempDir(), "sidecar.yaml")
	os.WriteFile(path, []byte(fullConfig), 0o600)
	if _, err := LoadConfig(path); err != nil {
		t.Errorf("LoadConfig: %v", err)
	}
	if _, err := LoadConfig(path + ".missing"); err == nil || !strings.Contains(err.Error(), "read configuration") {
		t.Errorf("LoadConfig of a missing file: %v", err)
	}
}

// TestConfigErrors: every refusal names the field, and nothing that would
// leave the application open or hand tokens beyond the pod is accepted.
func TestConfigErrors(t *testing.T) {
	service := func(extra string) string {
		return "service:\n  listen: :8080\n  upstream: http://127.0.0.1:8081\n  issuer: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X\n" + extra
	}
	route := "  routes:\n    - {path: /, scopes: [a/b]}\n"
	caller := func(upstream string) string {
		return "caller:\n  credentialsDir: /d\n  upstreams:\n    - " + upstream + "\n"
	}
	tests := map[string]struct {
		file string
		want []string
	}{
		"empty":                       {"", []string{"caller, service: neither is configured"}},
		"unknown field":               {"service:\n  lisen: :8080\n", []string{`unknown field "lisen"`}},
		"duplicate field":             {"caller: {}\ncaller: {}\n", []string{`"caller" already set`}},
		"service without routes":      {service(""), []string{"service.routes: at least one route is required", "does not run open"}},
		"route without scopes":        {service("  routes:\n    - {path: /orders}\n"), []string{"service.routes[0].scopes: at least one scope is required"}},
		"no issuer":                   {"service:\n  listen: :8080\n  upstream: http://127.0.0.1:8081\n" + route, []string{"service.issuer: is required"}},
		"issuer and file":             {service("  issuerFile: /x\n" + route), []string{"service.issuer: set issuer or issuerFile, not both"}},
		"application off loopback":    {"service:\n  listen: :8080\n  upstream: http://app:8081\n  issuer: https://i.example/p\n" + route, []string{"service.upstream: \"http://app:8081\" is not on loopback"}},
		"service listen without port": {"service:\n  listen: x\n  upstream: http://127.0.0.1:1\n  issuer: https://i.example/p\n" + route, []string{"service.listen: want host:port"}},
		"bad realm":                   {service("  realm: 'a\"b'\n" + route), []string{"service.realm"}},
		"bad strip header":            {service("  stripHeaders: ['a b']\n" + route), []string{"service.stripHeaders[0]"}},
		"bad duration":                {caller("{name: a, listen: '127.0.0.1:1', url: 'http://a', timeout: soon}"), []string{"caller.upstreams[0].timeout: want a duration"}},
		"negative leeway":             {service("  leeway: -1s\n" + route), []string{"service.leeway: must not be negative"}},
		"caller without credentials":  {"caller:\n  upstreams:\n    - {name: a, listen: '127.0.0.1:1', url: 'http://a'}\n", []string{"caller.credentialsDir: is required"}},
		"caller without upstreams":    {"caller:\n  credentialsDir: /d\n", []string{"caller.upstreams: at least one upstream"}},
		"upstream listener off loopback": {caller("{name: a, listen: ':15001', url: 'http://a'}"),
			[]string{"caller.upstreams[0].listen: \":15001\" is not a loopback address"}},
		"token endpoint off loopback": {"caller:\n  credentialsDir: /d\n  tokenListen: 0.0.0.0:15000\n", []string{"caller.tokenListen: \"0.0.0.0:15000\" is not a loopback address"}},
		"upstream URL with userinfo":  {caller("{name: a, listen: '127.0.0.1:1', url: 'http://u:p@a'}"), []string{"caller.upstreams[0].url", "credentials in the URL"}},
		"upstream URL not http":       {caller("{name: a, listen: '127.0.0.1:1', url: 'ftp://a'}"), []string{"caller.upstreams[0].url", "want an http or https URL"}},
		"upstream without name":       {caller("{listen: '127.0.0.1:1', url: 'http://a'}"), []string{"caller.upstreams[0].name: is required"}},
		"duplicate upstream names": {"caller:\n  credentialsDir: /d\n  upstreams:\n    - {name: a, listen: '127.0.0.1:1', url: 'http://a'}\n    - {name: a, listen: '127.0.0.1:2', url: 'http://b'}\n",
			[]string{"caller.upstreams[1].name: \"a\" is used twice"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.file))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
