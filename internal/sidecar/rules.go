package sidecar

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
)

// Rules are the service side's access rules: which scopes a request needs,
// by path prefix and method. They are decided here, as pure functions of the
// request's method and path, and tested without a server.
type Rules struct {
	rules []rule // most specific first
}

type rule struct {
	prefix  string   // clean, no trailing slash except "/"
	methods []string // upper case; empty means any
	scopes  []string
	public  bool
	index   int // position in the configuration, for logs
}

// Decision is what the rules say about one request.
type Decision struct {
	// Matched is false when no route covers the request: it is refused.
	Matched bool
	// Public routes need no token.
	Public bool
	// Scopes must all be granted.
	Scopes []string
	// Route is the index of the matching route in the configuration.
	Route int
}

// NewRules checks the routes and orders them for matching. Errors name the
// route's field.
func NewRules(routes []Route) (*Rules, error) {
	var errs []error
	bad := func(i int, field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("service.routes[%d].%s: %s", i, field, fmt.Sprintf(format, a...)))
	}
	rs := &Rules{}
	for i, r := range routes {
		ok := true
		p := r.Path
		switch {
		case p == "":
			bad(i, "path", "is required")
			ok = false
		case !strings.HasPrefix(p, "/"):
			bad(i, "path", "%q must start with /", p)
			ok = false
		case checkPath(p, p) != nil:
			bad(i, "path", "%q: %v", p, checkPath(p, p))
			ok = false
		}
		if p != "/" {
			p = strings.TrimSuffix(p, "/")
		}
		var methods []string
		for j, m := range r.Methods {
			if !validToken(m) {
				bad(i, fmt.Sprintf("methods[%d]", j), "%q is not a method", m)
				ok = false
				continue
			}
			methods = append(methods, canonicalMethod(m))
			if canonicalMethod(m) == http.MethodGet {
				methods = append(methods, http.MethodHead)
			}
		}
		slices.Sort(methods)
		methods = slices.Compact(methods)
		switch {
		case r.Public && len(r.Scopes) > 0:
			bad(i, "scopes", "a public route needs no token, so it cannot require scopes")
			ok = false
		case !r.Public && len(r.Scopes) == 0:
			bad(i, "scopes", "at least one scope is required (or public: true for a route that needs no token)")
			ok = false
		}
		for j, s := range r.Scopes {
			if s == "" || strings.ContainsAny(s, " \"\\") || !isPrintableASCII(s) {
				bad(i, fmt.Sprintf("scopes[%d]", j), "%q is not a scope name", s)
				ok = false
			}
		}
		if ok {
			rs.rules = append(rs.rules, rule{prefix: p, methods: methods, scopes: slices.Clone(r.Scopes), public: r.Public, index: i})
		}
	}
	// Two routes for the same prefix and method would make the choice
	// between them arbitrary.
	for a := range rs.rules {
		for b := a + 1; b < len(rs.rules); b++ {
			ra, rb := rs.rules[a], rs.rules[b]
			if !equalFoldASCII(ra.prefix, rb.prefix) {
				continue
			}
			if ra.prefix != rb.prefix {
				errs = append(errs, fmt.Errorf("service.routes[%d].path: %q differs from route %d's %q only in case; matching ignores case", rb.index, rb.prefix, ra.index, ra.prefix))
				continue
			}
			if overlap(ra.methods, rb.methods) {
				errs = append(errs, fmt.Errorf("service.routes[%d]: same path %q and method as route %d", rb.index, rb.prefix, ra.index))
			}
		}
	}
	// A prefix that extends another one must agree with it in case on the
	// common part: /Orders/export under /orders would otherwise be matched
	// against a different spelling than the application routes on.
	for _, ra := range rs.rules {
		for _, rb := range rs.rules {
			if len(ra.prefix) < len(rb.prefix) && ra.prefix != "/" && hasPrefixFold(rb.prefix, ra.prefix) && !strings.HasPrefix(rb.prefix, ra.prefix) {
				errs = append(errs, fmt.Errorf("service.routes[%d].path: %q extends route %d's %q in another case; spell the common part the same", rb.index, rb.prefix, ra.index, ra.prefix))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Longest prefix first; for one prefix, routes naming methods before the
	// route for any method.
	sort.SliceStable(rs.rules, func(a, b int) bool {
		ra, rb := rs.rules[a], rs.rules[b]
		if len(ra.prefix) != len(rb.prefix) {
			return len(ra.prefix) > len(rb.prefix)
		}
		return len(ra.methods) > 0 && len(rb.methods) == 0
	})
	return rs, nil
}

func overlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	for _, m := range a {
		if slices.Contains(b, m) {
			return true
		}
	}
	return false
}

// Decide returns the rule for a request whose path passed checkPath: the
// route with the longest matching prefix that allows the method.
func (rs *Rules) Decide(method, p string) Decision {
	for i := range rs.rules {
		r := &rs.rules[i]
		if !hasPathPrefix(p, r.prefix) {
			continue
		}
		if len(r.methods) > 0 && !slices.Contains(r.methods, method) {
			continue
		}
		return Decision{Matched: true, Public: r.public, Scopes: r.scopes, Route: r.index}
	}
	return Decision{}
}

// hasPathPrefix reports whether p is prefix or under it, ignoring ASCII case.
func hasPathPrefix(p, prefix string) bool {
	if prefix == "/" {
		return true
	}
	return hasPrefixFold(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/')
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFoldASCII(s[:len(prefix)], prefix)
}

// equalFoldASCII compares ignoring ASCII case only, byte for byte, so that a
// prefix and a path are compared over the same bytes.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Reasons checkPath refuses a path.
var (
	errPathNotAbsolute = errors.New("path does not start with /")
	errPathNotClean    = errors.New("path has empty, . or .. segments")
	errPathCharacter   = errors.New("path has a character that applications read differently (; \\ or a control character)")
	errPathEncoding    = errors.New("path has an encoded /, \\, . or NUL")
)

// checkPath refuses paths that the sidecar and the application could read
// differently, since the route is chosen on the sidecar's reading and the
// handler on the application's: dot segments and double slashes (cleaned
// by some frameworks, not by others), ';' (Tomcat's path parameters),
// backslashes (a separator on IIS and some ASP.NET setups), control
// characters, and encoded separators or dots. decoded is the URL's path,
// escaped its escaped form as the application receives it.
func checkPath(decoded, escaped string) error {
	if !strings.HasPrefix(decoded, "/") {
		return errPathNotAbsolute
	}
	for i := 0; i < len(decoded); i++ {
		if c := decoded[i]; c < 0x20 || c == 0x7f || c == ';' || c == '\\' {
			return errPathCharacter
		}
	}
	if c := path.Clean(decoded); c != decoded && (c == "/" || c+"/" != decoded) {
		return errPathNotClean
	}
	for i := 0; i+2 < len(escaped); i++ {
		if escaped[i] != '%' {
			continue
		}
		switch strings.ToLower(escaped[i+1 : i+3]) {
		case "2f", "5c", "2e", "00":
			return errPathEncoding
		}
	}
	return nil
}
