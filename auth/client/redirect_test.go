package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cognito-m2m/operator/auth/credentials"
)

// TestTokenRequestFollowsNoRedirect: the token endpoint answers with a 307 to
// another port of the same host. net/http keeps the Authorization header on a
// redirect to the same host name whatever the port, and replays the body of a
// 307, so following it would hand the client's Basic credentials to whatever
// listens there. The token request must not follow it.
func TestTokenRequestFollowsNoRedirect(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var mu sync.Mutex
			var stolen []string
			thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				stolen = append(stolen, r.Header.Get("Authorization"))
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"x","token_type":"Bearer","expires_in":3600}`))
			}))
			defer thief.Close()
			endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, thief.URL+"/oauth2/token", status)
			}))
			defer endpoint.Close()

			// The caller's own HTTP client, which follows redirects by default.
			hc := &http.Client{}
			ts, err := New(Config{
				Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: endpoint.URL + "/oauth2/token"},
				HTTPClient:  hc,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer ts.Close()
			_, err = ts.Token()
			var fe *FetchError
			if !errors.As(err, &fe) || fe.StatusCode != status || fe.Reason != ReasonHTTPStatus {
				t.Errorf("Token() = %v, want a FetchError for HTTP %d", err, status)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(stolen) != 0 {
				t.Errorf("the redirect target received %d token requests (Authorization %q)", len(stolen), stolen)
			}
			if hc.CheckRedirect != nil {
				t.Error("the caller's HTTP client was modified")
			}
		})
	}
}
