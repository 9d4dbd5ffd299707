package controllers_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// A tenant's M2MClients that wait for a ResourceServer that never comes hold
// nothing in Cognito and cost no drift check: they do not stretch the drift period
// of every other team's objects. Objects that do hold an app client still do.
func TestWaitingObjectsDoNotStretchDriftPeriod(t *testing.T) {
	const configured = 2 * time.Second
	controllers.SetPacerInterval(t, 200*time.Millisecond)
	e := newEnv(t, withConfig(func(o *controllers.Config) {
		o.DriftPeriod = configured
		// 1 request/s: with half of it for drift checks, 2 objects per 2 s period
		// fit, 3 do not.
		o.Limits = cognito.Limits{PerOperation: 1}
	}))
	tn := newTenant(t, e.ns+"-tenant")
	for i := range 20 {
		tn.create(t, newClient(tn.ns, fmt.Sprintf("never-%d", i), "never-comes", "read"))
	}
	time.Sleep(2 * time.Second) // ten pacer updates
	if got := controllers.DriftPeriod(); got != configured {
		t.Errorf("20 M2MClients waiting for a ResourceServer stretched the drift period to %s (configured %s)", got, configured)
	}

	// Three app clients in one pool at 1 request/s do stretch it: the count is real.
	readyPair(t, e)
	for i := range 3 {
		c := newClient(e.ns, fmt.Sprintf("real-%d", i), "weather", "read")
		mustCreate(t, c)
		waitReady(t, c)
	}
	eventually(t, 10*time.Second, func() error {
		if got, want := controllers.DriftPeriod(), 6*time.Second; got != want {
			return fmt.Errorf("drift period %s with 3 app clients at 1 request/s, want %s", got, want)
		}
		return nil
	})
}
