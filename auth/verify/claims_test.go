package verify

import (
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestNumericDateAsGolangJWT: claims decodes dates from json.Number itself, to
// spare a second JSON decoder per date; it must read every date exactly as
// jwt.NumericDate's UnmarshalJSON does.
func TestNumericDateAsGolangJWT(t *testing.T) {
	for _, in := range []string{"1772370000", "0", "-3", "1.5e9", "-0.25", "1772370000.123456789", "1e18", "1e400", `"1772370000"`, `"soon"`} {
		var want jwt.NumericDate
		wantErr := want.UnmarshalJSON([]byte(in))

		var w wireClaims
		err := json.Unmarshal([]byte(`{"exp":`+in+`}`), &w)
		var got *jwt.NumericDate
		if err == nil {
			var c *Claims
			c, err = w.claims()
			got = c.ExpiresAt
		}
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, golang-jwt's %v", in, err, wantErr)
			continue
		}
		if err == nil && !got.Time.Equal(want.Time) {
			t.Errorf("%s: %v, golang-jwt reads %v", in, got.Time, want.Time)
		}
	}
	// Absent and null dates are nil, as a *jwt.NumericDate field leaves them.
	var w wireClaims
	if err := json.Unmarshal([]byte(`{"exp":null}`), &w); err != nil {
		t.Fatal(err)
	}
	c, err := w.claims()
	if err != nil || c.ExpiresAt != nil || c.NotBefore != nil {
		t.Errorf("null and absent dates: %v, %v, %v", c.ExpiresAt, c.NotBefore, err)
	}
}
