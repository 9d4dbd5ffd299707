package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxAdminBody bounds an admin request.
const maxAdminBody = 64 << 10

// Handler returns the HTTP handler that serves everything: the control
// plane at POST /, the token endpoint, the per-pool discovery documents and
// JWKS, /healthz and the /_emulator/ admin endpoints.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", e.serveControlPlane)
	mux.HandleFunc(tokenPath, e.serveToken)
	mux.HandleFunc("GET /{pool}/.well-known/jwks.json", e.serveJWKS)
	mux.HandleFunc("GET /{pool}/.well-known/openid-configuration", e.serveDiscovery)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	calls := func() any {
		return map[string]any{"calls": e.CallCounts(), "throttled": e.ThrottledCounts()}
	}
	mux.HandleFunc("GET /_emulator/calls", e.admin(func(*http.Request) (any, error) {
		return calls(), nil
	}))
	mux.HandleFunc("DELETE /_emulator/calls", e.admin(func(*http.Request) (any, error) {
		e.ResetCallCounts()
		return calls(), nil
	}))
	mux.HandleFunc("POST /_emulator/keys/rotate", e.admin(func(*http.Request) (any, error) {
		kid, err := e.RotateSigningKey()
		if err != nil {
			return nil, err
		}
		return map[string]any{"kid": kid, "published": e.SigningKeyIDs()}, nil
	}))
	mux.HandleFunc("GET /_emulator/faults", e.admin(func(*http.Request) (any, error) {
		return map[string]any{"faults": e.Faults()}, nil
	}))
	mux.HandleFunc("PUT /_emulator/faults", e.admin(func(r *http.Request) (any, error) {
		var in struct {
			Faults []Fault `json:"faults"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			return nil, err
		}
		e.SetFaults(in.Faults...)
		return map[string]any{"faults": e.Faults()}, nil
	}))
	mux.HandleFunc("DELETE /_emulator/faults", e.admin(func(*http.Request) (any, error) {
		e.SetFaults()
		return map[string]any{"faults": e.Faults()}, nil
	}))
	mux.HandleFunc("GET /_emulator/quotas", e.admin(func(*http.Request) (any, error) {
		return map[string]any{"quotas": e.CurrentQuotas()}, nil
	}))
	mux.HandleFunc("PUT /_emulator/quotas", e.admin(func(r *http.Request) (any, error) {
		q := DefaultQuotas()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if len(body) > 0 {
			q = &Quotas{}
			if err := json.Unmarshal(body, q); err != nil {
				return nil, errBadAdminRequest
			}
		}
		e.SetQuotas(q)
		return map[string]any{"quotas": e.CurrentQuotas()}, nil
	}))
	mux.HandleFunc("DELETE /_emulator/quotas", e.admin(func(*http.Request) (any, error) {
		e.SetQuotas(nil)
		return map[string]any{"quotas": e.CurrentQuotas()}, nil
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Date header tells the emulator's time, as AWS's tells Cognito's:
		// with Options.Now offset, clients see the skew they would see against
		// a Cognito whose clock differs from theirs (the AWS SDK records it).
		w.Header().Set("Date", e.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	})
}

var errBadAdminRequest = errors.New("malformed JSON body")

// admin wraps an admin endpoint: bounded body, JSON answer, a log record.
func (e *Emulator) admin(fn func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
		out, err := fn(r)
		status := http.StatusOK
		if err != nil {
			status = http.StatusInternalServerError
			if errors.Is(err, errBadAdminRequest) {
				status = http.StatusBadRequest
			}
			out = map[string]string{"error": err.Error()}
		}
		e.log.Info("Handled admin request", "method", r.Method, "path", r.URL.Path, "status", status,
			"duration", time.Since(start).Round(time.Microsecond))
		writeJSON(w, status, out)
	}
}

func decodeAdmin(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return errors.Join(errBadAdminRequest, err)
	}
	return nil
}

// faultJSON is a Fault on the admin wire, with latency as a Go duration
// string such as "250ms".
type faultJSON struct {
	Operation string  `json:"operation,omitempty"`
	ErrorType string  `json:"errorType,omitempty"`
	ErrorRate float64 `json:"errorRate,omitempty"`
	Latency   string  `json:"latency,omitempty"`
	Count     int     `json:"count,omitempty"`
}

// MarshalJSON writes the latency as a duration string such as "250ms".
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Operation: f.Operation, ErrorType: f.ErrorType, ErrorRate: f.ErrorRate, Count: f.Count}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the latency as a duration string such as "250ms".
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Operation: j.Operation, ErrorType: j.ErrorType, ErrorRate: j.ErrorRate, Count: j.Count}
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return err
		}
		f.Latency = d
	}
	return nil
}
