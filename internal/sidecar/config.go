package sidecar

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Config is the sidecar's configuration file. It has a caller side, a service
// side, or both; an empty file is refused.
type Config struct {
	// Caller attaches tokens to the application's outgoing calls.
	Caller *CallerConfig `json:"caller,omitempty"`
	// Service verifies the tokens of calls to the application.
	Service *ServiceConfig `json:"service,omitempty"`
}

// CallerConfig is the calling side: one token, from the mounted M2MClient
// Secret, for every upstream.
type CallerConfig struct {
	// CredentialsDir is where the M2MClient Secret is mounted.
	CredentialsDir string `json:"credentialsDir"`
	// TokenListen, when set, is a loopback address serving GET /token: the
	// current access token as JSON, for clients that set the header
	// themselves (gRPC).
	TokenListen string `json:"tokenListen,omitempty"`
	// Upstreams are the services the application calls, each through a
	// listener of its own.
	Upstreams []Upstream `json:"upstreams"`
}

// Upstream is one called service.
type Upstream struct {
	// Name labels the upstream's metrics and logs.
	Name string `json:"name"`
	// Listen is the loopback address the application sends its calls to.
	Listen string `json:"listen"`
	// URL is the upstream's base URL; the token goes to its origin only.
	URL string `json:"url"`
	// Timeout bounds the wait for the upstream's response headers; default 30s.
	Timeout Duration `json:"timeout,omitempty"`
}

// ServiceConfig is the called side: a verifying reverse proxy in front of the
// application.
type ServiceConfig struct {
	// Listen is the address callers reach, the pod's service port.
	Listen string `json:"listen"`
	// Upstream is the application's URL on loopback, such as
	// http://127.0.0.1:8081. The application must listen on loopback only:
	// it trusts the identity headers because only the sidecar can reach it.
	Upstream string `json:"upstream"`
	// Issuer is the user pool's issuer URL; or IssuerFile, a file holding it
	// (the issuer key of a mounted M2MClient Secret).
	Issuer     string `json:"issuer,omitempty"`
	IssuerFile string `json:"issuerFile,omitempty"`
	// JWKSURL defaults to <issuer>/.well-known/jwks.json.
	JWKSURL string `json:"jwksURL,omitempty"`
	// ClientIDs, when set, are the only app clients accepted.
	ClientIDs []string `json:"clientIDs,omitempty"`
	// Leeway is the clock skew allowed on exp, nbf and iat; default 5s.
	Leeway Duration `json:"leeway,omitempty"`
	// Realm is sent in the WWW-Authenticate challenge.
	Realm string `json:"realm,omitempty"`
	// StripHeaders are request headers removed before the application sees
	// them, besides the built-in list (see IdentityHeaderPrefix).
	StripHeaders []string `json:"stripHeaders,omitempty"`
	// Routes say which scopes each path prefix and method needs. A request no
	// route matches is refused.
	Routes []Route `json:"routes"`
}

// Route is one access rule of the service side.
type Route struct {
	// Path is a path prefix: "/orders" matches /orders and /orders/..., not
	// /ordersx. Matching ignores ASCII case, as ASP.NET Core and Spring do.
	Path string `json:"path"`
	// Methods restrict the route to these methods (GET includes HEAD); empty
	// means any.
	Methods []string `json:"methods,omitempty"`
	// Scopes must all be granted by the token.
	Scopes []string `json:"scopes,omitempty"`
	// Public routes need no token, such as the application's probes.
	Public bool `json:"public,omitempty"`
}

// Duration is a Go duration string, such as "30s". It is kept as written
// and parsed by Validate, so that a bad value is reported with its field.
type Duration string

// Value returns the duration; empty is zero. Validate has checked it.
func (d Duration) Value() time.Duration {
	v, _ := time.ParseDuration(string(d))
	return v
}

func (d Duration) check() error {
	if d == "" {
		return nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return fmt.Errorf("want a duration such as \"30s\": %v", err)
	}
	if v < 0 {
		return errors.New("must not be negative")
	}
	return nil
}

// LoadConfig reads and validates a configuration file (YAML or JSON).
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("configuration %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a configuration (YAML or JSON; unknown and duplicate
// fields are errors) and validates it.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every invalid field, each error naming its field. A
// configuration that would leave the application open is invalid.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if c.Caller == nil && c.Service == nil {
		bad("caller, service", "neither is configured")
	}
	if cc := c.Caller; cc != nil {
		if cc.CredentialsDir == "" {
			bad("caller.credentialsDir", "is required: the directory where the M2MClient Secret is mounted")
		}
		if cc.TokenListen != "" {
			if err := loopbackAddr(cc.TokenListen); err != nil {
				bad("caller.tokenListen", "%v", err)
			}
		}
		if len(cc.Upstreams) == 0 && cc.TokenListen == "" {
			bad("caller.upstreams", "at least one upstream (or caller.tokenListen) is required")
		}
		names := map[string]bool{}
		for i, u := range cc.Upstreams {
			f := fmt.Sprintf("caller.upstreams[%d]", i)
			switch {
			case u.Name == "":
				bad(f+".name", "is required")
			case names[u.Name]:
				bad(f+".name", "%q is used twice", u.Name)
			}
			names[u.Name] = true
			if err := loopbackAddr(u.Listen); err != nil {
				bad(f+".listen", "%v", err)
			}
			if err := upstreamURL(u.URL); err != nil {
				bad(f+".url", "%v", err)
			}
			if err := u.Timeout.check(); err != nil {
				bad(f+".timeout", "%v", err)
			}
		}
	}
	if sc := c.Service; sc != nil {
		if sc.Listen == "" {
			bad("service.listen", "is required")
		} else if _, _, err := net.SplitHostPort(sc.Listen); err != nil {
			bad("service.listen", "want host:port: %v", err)
		}
		if err := upstreamURL(sc.Upstream); err != nil {
			bad("service.upstream", "%v", err)
		} else if u, _ := url.Parse(sc.Upstream); !isLoopbackHost(u.Hostname()) {
			bad("service.upstream", "%q is not on loopback: the application must listen on loopback only, so that nothing but the sidecar reaches it", sc.Upstream)
		}
		switch {
		case sc.Issuer == "" && sc.IssuerFile == "":
			bad("service.issuer", "is required (or service.issuerFile)")
		case sc.Issuer != "" && sc.IssuerFile != "":
			bad("service.issuer", "set issuer or issuerFile, not both")
		case sc.Issuer != "":
			if err := upstreamURL(sc.Issuer); err != nil {
				bad("service.issuer", "%v", err)
			}
		}
		if err := sc.Leeway.check(); err != nil {
			bad("service.leeway", "%v", err)
		}
		if sc.JWKSURL != "" {
			if err := upstreamURL(sc.JWKSURL); err != nil {
				bad("service.jwksURL", "%v", err)
			}
		}
		for i, h := range sc.StripHeaders {
			if !validToken(h) {
				bad(fmt.Sprintf("service.stripHeaders[%d]", i), "%q is not a header name", h)
			}
		}
		if strings.ContainsAny(sc.Realm, "\"\\\r\n") {
			bad("service.realm", "must not contain quotes, backslashes or line breaks")
		}
		if len(sc.Routes) == 0 {
			bad("service.routes", "at least one route is required: without routes every request would be refused, and the sidecar does not run open")
		}
		if _, err := NewRules(sc.Routes); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loopbackAddr checks that addr is host:port with a loopback host, so that
// only the pod's own containers reach a listener that hands out tokens.
func loopbackAddr(addr string) error {
	if addr == "" {
		return errors.New("is required")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %v", err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("%q is not a loopback address: a listener that attaches tokens must be reachable from the pod only (use 127.0.0.1:<port>)", addr)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// upstreamURL checks an http(s) URL with a host and nothing that would be
// lost or ambiguous when requests are joined to it.
func upstreamURL(s string) error {
	if s == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http or https URL", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return fmt.Errorf("%q: credentials in the URL are not allowed", s)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: a query or fragment is not allowed", s)
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token, such as a header name or
// a method.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// upstreamTimeout is the default bound on an upstream's response headers.
const upstreamTimeout = 30 * time.Second

// canonicalMethod upper-cases a known method name.
func canonicalMethod(m string) string {
	switch u := strings.ToUpper(m); u {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return u
	}
	return m
}
