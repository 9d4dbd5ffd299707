package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// referenceClaims decodes claims with encoding/json, reading members by their
// exact names, as the specification of what parseClaims must agree with.
func referenceClaims(b []byte) (*Claims, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	if m == nil {
		return nil, errors.New("not an object")
	}
	c := &Claims{}
	str := func(k string, dst *string) error {
		v, ok := m[k]
		if !ok || v == nil {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return errors.New(k + " not a string")
		}
		*dst = s
		return nil
	}
	date := func(k string, dst **jwt.NumericDate) error {
		v, ok := m[k]
		if !ok || v == nil {
			return nil
		}
		n, ok := v.(json.Number)
		if !ok {
			return errors.New(k + " not a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return err
		}
		round, frac := math.Modf(f)
		*dst = jwt.NewNumericDate(time.Unix(int64(round), int64(frac*1e9)))
		return nil
	}
	errs := []error{
		str("iss", &c.Issuer), str("sub", &c.Subject), str("jti", &c.ID), str("client_id", &c.ClientID),
		str("token_use", &c.TokenUse), str("scope", &c.Scope),
		date("exp", &c.ExpiresAt), date("nbf", &c.NotBefore), date("iat", &c.IssuedAt), date("auth_time", &c.AuthTime),
	}
	if v, ok := m["version"]; ok && v != nil {
		n, ok := v.(json.Number)
		if !ok {
			return nil, errors.New("version not a number")
		}
		i, err := strconv.ParseInt(string(n), 10, strconv.IntSize)
		if err != nil {
			return nil, err
		}
		c.Version = int(i)
	}
	switch a := m["aud"].(type) {
	case nil:
	case string:
		c.Audience = jwt.ClaimStrings{a}
	case []any:
		c.Audience = jwt.ClaimStrings{}
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("aud element not a string")
			}
			c.Audience = append(c.Audience, s)
		}
	default:
		return nil, errors.New("aud of another type")
	}
	return c, errors.Join(errs...)
}

var claimSeeds = []string{
	`{"sub":"c1","client_id":"c1","token_use":"access","scope":"MyService/weather_read MyService/x","iss":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x","exp":1772370000,"iat":1772366400,"auth_time":1772366400,"jti":"5e2c","version":2}`,
	` { "exp" : 1.5e9 , "aud" : [ "a" , "b" ] , "nbf" : null , "x" : { "y" : [ 1 , true , false , null , "\u00e9\ud83d\ude00" ] } } `,
	`{"scope":"a\"b\\c\/d\b\f\n\r\t","aud":"one","iss":"\ud800x","sub":"\ud800\u0041"}`,
	`{}`,
	`{"exp":-0.25,"version":-3,"iat":0}`,
	`{"exp":"1"}`,
	`{"iss":1}`,
	`{"version":2.5}`,
	`{"exp":1e400}`,
	`{"a":1,}`,
	`{"a" 1}`,
	`{"a":01}`,
	`{"a":-}`,
	`{"a":1.}`,
	`{"a":.5}`,
	`{"a":1e}`,
	`{"a":"\x01"}`,
	`{"a":"\u12"}`,
	`{"a":tru}`,
	`{"a":[1,]}`,
	`{null:1}`,
	`{"a":1}x`,
	`[1]`,
	`null`,
	`{"iss":"a","iss":"b"}`,
	`{"ISS":"x"}`,
	`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	"{\"a\":\"\xff\"}",
	`{"is\u0073":"escaped name","\u0065xp":1}`,
	`{"a\"":1,"\\":2}`,
}

// FuzzParseClaims checks the hand-written claims parser against encoding/json:
// whatever parseClaims accepts, encoding/json must accept and read the same.
// parseClaims may refuse more (duplicate claims, invalid UTF-8, deep nesting).
func FuzzParseClaims(f *testing.F) {
	for _, s := range claimSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Claims
		err := parseClaims(b, &got)
		want, refErr := referenceClaims(b)
		if err != nil {
			return
		}
		if refErr != nil {
			t.Fatalf("parseClaims accepted %q, encoding/json refused it: %v", b, refErr)
		}
		if diff := cmp.Diff(want, &got, cmpopts.IgnoreUnexported(Claims{})); diff != "" {
			t.Fatalf("parseClaims read %q differently (-encoding/json +parseClaims):\n%s", b, diff)
		}
	})
}

func TestParseClaimsStricter(t *testing.T) {
	tests := map[string]string{
		"duplicate claim":      `{"iss":"a","iss":"b"}`,
		"invalid UTF-8":        "{\"iss\":\"\xff\"}",
		"deep nesting":         `{"a":` + string(bytes.Repeat([]byte("["), 40)) + string(bytes.Repeat([]byte("]"), 40)) + `}`,
		"wrong type of claim":  `{"exp":"1"}`,
		"trailing data":        `{"a":1}x`,
		"not an object":        `[1]`,
		"key not a string":     `{null:1}`,
		"number with no digit": `{"a":-}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			var c Claims
			if err := parseClaims([]byte(in), &c); err == nil {
				t.Errorf("parseClaims(%q) accepted", in)
			}
		})
	}
	// An escaped name is the name it spells.
	var e Claims
	if err := parseClaims([]byte(`{"is\u0073":"x"}`), &e); err != nil || e.Issuer != "x" {
		t.Errorf("escaped name: issuer %q, %v; want x", e.Issuer, err)
	}
	// What encoding/json would misread, exact names avoid: "ISS" is not "iss".
	var c Claims
	if err := parseClaims([]byte(`{"ISS":"evil","iss":"good"}`), &c); err != nil || c.Issuer != "good" {
		t.Errorf("issuer %q, %v; want good", c.Issuer, err)
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in      string
		want    header
		wantErr bool
	}{
		{in: `{"kid":"k1","alg":"RS256"}`, want: header{alg: "RS256", kid: "k1"}},
		{in: `{"alg":"RS256","kid":"k1","typ":"JWT","x":{"y":[1]}}`, want: header{alg: "RS256", kid: "k1"}},
		{in: `{"alg":"RS256","kid":"k1","jwk":{"kty":"RSA"},"jku":"u"}`, want: header{alg: "RS256", kid: "k1", forbidden: "jwk"}},
		{in: `{"alg":"RS256","crit":["exp"]}`, want: header{alg: "RS256", forbidden: "crit"}},
		{in: `{"alg":"RS256","alg":"none"}`, wantErr: true},
		{in: `{"alg":1}`, wantErr: true},
		{in: `{"alg":"RS256"`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseHeader([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("parseHeader(%s) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(header{})); !tt.wantErr && diff != "" {
			t.Errorf("parseHeader(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}
