package cognito

import (
	"context"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/emulator/emulatortest"
)

// After a listing, CognitoTime turns this process's time into Cognito's, with
// Cognito's clock 5 minutes ahead or behind: early by at most a second and the
// latency, never late.
func TestCognitoTimeFollowsCognitosClock(t *testing.T) {
	for _, offset := range []time.Duration{5 * time.Minute, -5 * time.Minute, 0} {
		t.Run(offset.String(), func(t *testing.T) {
			emu, pool := emulatortest.NewPool(t, emulator.Options{Now: func() time.Time { return time.Now().Add(offset) }}, "skewed", "")
			c := NewClient(emulatortest.SDK(emu, emulatortest.NoRetries), nil)
			now := time.Now()
			if got := c.CognitoTime(now); !got.Equal(now) {
				t.Errorf("before any listing CognitoTime moved the time by %s", got.Sub(now))
			}
			if err := c.AppClientsNamed(context.Background(), pool, "x", func(string) (bool, error) { return true, nil }); err != nil {
				t.Fatal(err)
			}
			d := c.CognitoTime(now).Sub(now.Add(offset))
			if d > 0 || d < -2*time.Second {
				t.Errorf("CognitoTime is %s off Cognito's clock, want within (-2s, 0]", d)
			}
		})
	}
}
