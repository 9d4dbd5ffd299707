package sidecar

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	rules, err := NewRules([]Route{
		{Path: "/", Scopes: []string{"api/read"}},                                 // 0
		{Path: "/orders", Methods: []string{"get"}, Scopes: []string{"api/read"}}, // 1
		{Path: "/orders", Methods: []string{"POST", "PUT"}, Scopes: []string{"api/write"}},
		{Path: "/orders/export/", Scopes: []string{"api/export", "api/read"}}, // 3
		{Path: "/healthz", Methods: []string{"GET"}, Public: true},            // 4
		{Path: "/admin", Scopes: []string{"api/admin"}},                       // 5
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		want         Decision
	}{
		{"GET", "/orders", Decision{Matched: true, Scopes: []string{"api/read"}, Route: 1}},
		{"HEAD", "/orders/42", Decision{Matched: true, Scopes: []string{"api/read"}, Route: 1}},
		{"POST", "/orders", Decision{Matched: true, Scopes: []string{"api/write"}, Route: 2}},
		{"DELETE", "/orders/42", Decision{Matched: true, Scopes: []string{"api/read"}, Route: 0}},
		{"GET", "/ordersx", Decision{Matched: true, Scopes: []string{"api/read"}, Route: 0}},
		{"GET", "/orders/export", Decision{Matched: true, Scopes: []string{"api/export", "api/read"}, Route: 3}},
		{"POST", "/orders/export/all", Decision{Matched: true, Scopes: []string{"api/export", "api/read"}, Route: 3}},
		{"GET", "/healthz", Decision{Matched: true, Public: true, Route: 4}},
		{"POST", "/healthz", Decision{Matched: true, Scopes: []string{"api/read"}, Route: 0}},
		// Case is ignored, as case-insensitive frameworks route.
		{"GET", "/ADMIN/users", Decision{Matched: true, Scopes: []string{"api/admin"}, Route: 5}},
		{"GET", "/Orders/Export", Decision{Matched: true, Scopes: []string{"api/export", "api/read"}, Route: 3}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, rules.Decide(tt.method, tt.path)); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.method, tt.path, diff)
		}
	}

	// Without a catch-all, what no route names is refused.
	narrow, err := NewRules([]Route{{Path: "/weatherforecast", Methods: []string{"GET"}, Scopes: []string{"w/read"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range [][2]string{{"GET", "/"}, {"POST", "/weatherforecast"}, {"GET", "/weatherforecast2"}} {
		if d := narrow.Decide(req[0], req[1]); d.Matched {
			t.Errorf("%s %s matched %+v, want no route", req[0], req[1], d)
		}
	}
}

func TestNewRulesErrorsNameTheField(t *testing.T) {
	tests := map[string]struct {
		routes []Route
		want   []string
	}{
		"no path":              {[]Route{{Scopes: []string{"a/b"}}}, []string{"service.routes[0].path: is required"}},
		"relative path":        {[]Route{{Path: "orders", Scopes: []string{"a/b"}}}, []string{"service.routes[0].path: \"orders\" must start with /"}},
		"dot segment":          {[]Route{{Path: "/a/../b", Scopes: []string{"a/b"}}}, []string{"service.routes[0].path"}},
		"no scope, not public": {[]Route{{Path: "/a"}}, []string{"service.routes[0].scopes: at least one scope is required"}},
		"public with scopes":   {[]Route{{Path: "/a", Public: true, Scopes: []string{"a/b"}}}, []string{"service.routes[0].scopes: a public route"}},
		"bad method":           {[]Route{{Path: "/a", Methods: []string{"GE T"}, Scopes: []string{"a/b"}}}, []string{"service.routes[0].methods[0]"}},
		"bad scope":            {[]Route{{Path: "/a", Scopes: []string{"a b"}}}, []string{"service.routes[0].scopes[0]"}},
		"same path and method": {
			[]Route{{Path: "/a", Methods: []string{"GET"}, Scopes: []string{"x/y"}}, {Path: "/a/", Methods: []string{"GET", "POST"}, Scopes: []string{"x/z"}}},
			[]string{"service.routes[1]: same path \"/a\" and method as route 0"},
		},
		"paths differing in case": {
			[]Route{{Path: "/a", Scopes: []string{"x/y"}}, {Path: "/A", Methods: []string{"GET"}, Scopes: []string{"x/z"}}},
			[]string{"service.routes[1].path: \"/A\" differs from route 0's \"/a\" only in case"},
		},
		"extension in another case": {
			[]Route{{Path: "/orders", Scopes: []string{"x/y"}}, {Path: "/Orders/export", Scopes: []string{"x/z"}}},
			[]string{"service.routes[1].path: \"/Orders/export\" extends route 0's \"/orders\" in another case"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewRules(tt.routes)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Different methods on one path are fine.
	if _, err := NewRules([]Route{{Path: "/a", Methods: []string{"GET"}, Scopes: []string{"x/y"}}, {Path: "/a", Methods: []string{"POST"}, Scopes: []string{"x/z"}}, {Path: "/a", Scopes: []string{"x/w"}}}); err != nil {
		t.Errorf("methods split over routes: %v", err)
	}
}

func TestCheckPath(t *testing.T) {
	tests := []struct {
		decoded, escaped string
		want             error
	}{
		{"/", "/", nil},
		{"/weatherforecast", "/weatherforecast", nil},
		{"/orders/42/", "/orders/42/", nil},
		{"/caf\u00e9", "/caf%C3%A9", nil},
		{"/a b", "/a%20b", nil},
		{"", "", errPathNotAbsolute},
		{"//", "//", errPathNotClean},
		{"/a//b", "/a//b", errPathNotClean},
		{"/public/../admin", "/public/../admin", errPathNotClean},
		{"/./admin", "/./admin", errPathNotClean},
		{"/admin/.", "/admin/.", errPathNotClean},
		{"/admin;jsessionid=1", "/admin;jsessionid=1", errPathCharacter},
		{"/public\\..\\admin", "/public%5C..%5Cadmin", errPathCharacter},
		{"/a\x00", "/a%00", errPathCharacter},
		{"/a/b", "/a%2Fb", errPathEncoding},
		{"/a/b", "/a%2fb", errPathEncoding},
		{"/a.b", "/a%2eb", errPathEncoding},
	}
	for _, tt := range tests {
		if got := checkPath(tt.decoded, tt.escaped); got != tt.want {
			t.Errorf("checkPath(%q, %q) = %v, want %v", tt.decoded, tt.escaped, got, tt.want)
		}
	}
}
