package verify

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMiddleware(t *testing.T) {
	srv, _, v := setup(t, nil)
	var rejected []string
	m := &Middleware{Verifier: v, Scopes: []string{scope}, OnReject: func(r *http.Request, status int, err error) {
		rejected = append(rejected, fmt.Sprint(status, " ", Reason(err)))
	}}
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			t.Error("no claims in the request context")
			return
		}
		fmt.Fprint(w, "hello ", c.ClientID)
	}))
	type result struct {
		Status    int
		Challenge string
		Body      string
	}
	invalid := `Bearer error="invalid_token"`
	tests := []struct {
		name   string
		header []string
		want   result
	}{
		{"valid", []string{"Bearer " + srv.AccessToken("caller", scope)}, result{200, "", "hello caller"}},
		{"scheme is case-insensitive", []string{"bearer " + srv.AccessToken("caller", scope)}, result{200, "", "hello caller"}},
		{"missing", nil, result{401, invalid, "Unauthorized\n"}},
		{"basic auth", []string{"Basic YTpi"}, result{401, invalid, "Unauthorized\n"}},
		{"empty bearer", []string{"Bearer "}, result{401, invalid, "Unauthorized\n"}},
		{"two headers", []string{"Bearer a", "Bearer b"}, result{401, invalid, "Unauthorized\n"}},
		{"garbage", []string{"Bearer abc.def.ghi"}, result{401, invalid, "Unauthorized\n"}},
		{"oversized", []string{"Bearer " + strings.Repeat("a", 9000)}, result{401, invalid, "Unauthorized\n"}},
		{"wrong scope", []string{"Bearer " + srv.AccessToken("caller", "MyService/weather_write")}, result{403, `Bearer error="insufficient_scope", scope="MyService/weather_read"`, "Forbidden\n"}},
		{"no scope", []string{"Bearer " + srv.AccessToken("caller")}, result{403, `Bearer error="insufficient_scope", scope="MyService/weather_read"`, "Forbidden\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			for _, h := range tt.header {
				req.Header.Add("Authorization", h)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := result{rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
	want := []string{"401 missing", "401 missing", "401 missing", "401 malformed", "401 malformed", "401 too_large", "403 scope", "403 scope"}
	if diff := cmp.Diff(want, rejected); diff != "" {
		t.Errorf("OnReject calls (-want +got):\n%s", diff)
	}
	if got := v.Stats().Rejected["scope"]; got != 2 {
		t.Errorf("scope rejections counted %d, want 2", got)
	}
}

func TestMiddlewareRealm(t *testing.T) {
	_, _, v := setup(t, nil)
	m := &Middleware{Verifier: v, Realm: "weather"}
	rec := httptest.NewRecorder()
	m.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if diff := cmp.Diff(`Bearer realm="weather", error="invalid_token"`, rec.Header().Get("WWW-Authenticate")); diff != "" {
		t.Error(diff)
	}
}
