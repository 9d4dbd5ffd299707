package controllers_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// A tenant's M2MClients that wait for a ResourceServer that never comes hold
// nothing in Cognito and cost no drift check: they do not stretch the drift period
// of every other team's objects. Objects that do hold an app client still do.
func TestWaitingObjectsDoNotStretchDriftPeriod(t *testing.T) {
	const configured = 2 * time.Second
	e := newPacedEnv(t, configured)
	tn := newTenant(t, e.ns+"-tenant")
	for i := range 20 {
		tn.create(t, newClient(tn.ns, fmt.Sprintf("never-%d", i), "never-comes", "read"))
	}
	time.Sleep(2 * time.Second) // ten pacer updates
	if got := controllers.DriftPeriod(); got != configured {
		t.Errorf("20 M2MClients waiting for a ResourceServer stretched the drift period to %s (configured %s)", got, configured)
	}

	// Three app clients in one pool at 1 request/s do stretch it: the count is real.
	threeAppClientsStretch(t, e)
}

// newPacedEnv is a manager with the drift period configured, at 1 request/s
// per operation: with half of it for drift checks, 2 objects per 2s period fit,
// 3 do not. Its pacer recomputes the period every 200ms.
func newPacedEnv(t *testing.T, configured time.Duration) *testEnv {
	t.Helper()
	controllers.SetPacerInterval(t, 200*time.Millisecond)
	return newEnv(t, withConfig(func(o *controllers.Config) {
		o.DriftPeriod = configured
		o.Limits = cognito.Limits{PerOperation: 1}
	}))
}

// threeAppClientsStretch makes three Ready app clients in the env's pool, and
// waits for the drift period they need at 1 request/s: 6s.
func threeAppClientsStretch(t *testing.T, e *testEnv) {
	t.Helper()
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

// The drift period stretches for the rate in force, not the configured one: when
// Cognito throttles the checks and adaptive pacing lowers the rate, checking
// every object once per period at the configured rate would ask for more than
// the quota now gives.
func TestDriftPeriodStretchesForTheRateInForce(t *testing.T) {
	const configured = 2 * time.Second
	e := newPacedEnv(t, configured)
	threeAppClientsStretch(t, e)

	e.api.setHooks(func(op string) error {
		if op == "DescribeUserPoolClient" {
			return &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		}
		return nil
	}, nil)
	defer e.api.setHooks(nil, nil)
	// One throttle halves the rate in force to 0.5 request/s: 12s or more.
	eventually(t, 20*time.Second, func() error {
		if got, least := controllers.DriftPeriod(), 12*time.Second; got < least {
			return fmt.Errorf("drift period %s while Cognito throttles every check, want at least %s", got, least)
		}
		return nil
	})
}
