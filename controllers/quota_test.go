package controllers_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
)

// Cognito's request quotas, not CPU, bound how fast the operator converges: these
// tests check that it spends no call it does not need.

func withDriftPeriod(d time.Duration) envOption {
	return withConfig(func(o *controllers.Config) { o.DriftPeriod = d })
}

// Creating a client costs one Create: the operator's own Secret write does not come
// back as a second pass that describes the client.
func TestSecretEchoMakesNoCognitoCall(t *testing.T) {
	e := newEnv(t, withDriftPeriod(time.Hour))
	readyPair(t, e)
	e.api.reset()
	c := newClient(e.ns, "quiet", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	time.Sleep(3 * time.Second) // room for an echo to arrive and be reconciled
	counts := e.api.counts()
	if counts["CreateUserPoolClient"] != 1 || counts["DescribeUserPoolClient"] != 0 || counts["ListUserPoolClients"] != 0 {
		t.Errorf("creating one client cost %v; want one CreateUserPoolClient and nothing else", counts)
	}
}

// A create Cognito refused (throttled, here) made nothing: the retry creates again
// without paging through the pool for a client that cannot exist.
func TestThrottledCreateDoesNotList(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	var throttled atomic.Int32
	e.api.setHooks(func(op string) error {
		if op == "CreateUserPoolClient" && throttled.Add(1) <= 2 {
			return &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		}
		return nil
	}, nil)
	c := newClient(e.ns, "retried", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	if n := e.api.counts()["ListUserPoolClients"]; n != 0 {
		t.Errorf("ListUserPoolClients called %d times after throttled creates", n)
	}
	if ids := clientsNamed(t, e.pool, e.ns+"-retried"); len(ids) != 1 {
		t.Errorf("%d app clients, want 1", len(ids))
	}
}

// A throttled check of a working client changes nothing that works: Ready stays
// True (Reconciling says what is retried), and no Warning event is emitted.
func TestThrottleKeepsReady(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := newClient(e.ns, "steady", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	// Every check is throttled for four seconds (drift period 2s, and the retries).
	deadline := time.Now().Add(4 * time.Second)
	e.api.setHooks(func(op string) error {
		if op == "DescribeUserPoolClient" && time.Now().Before(deadline) {
			return &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		}
		return nil
	}, nil)
	sawReconciling := false
	for time.Now().Before(deadline) {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			t.Fatal(err)
		}
		if !apimeta.IsStatusConditionTrue(c.Status.Conditions, v1alpha1.ConditionReady) {
			t.Fatalf("Ready left True on a throttled check: %+v", apimeta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionReady))
		}
		if r := apimeta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionReconciling); r != nil && r.Reason == v1alpha1.ReasonThrottled {
			sawReconciling = true
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawReconciling {
		t.Error("Reconciling never showed the throttled check")
	}
	waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled)
	eventually(t, 10*time.Second, func() error {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			return err
		}
		if apimeta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionReconciling) != nil {
			return fmt.Errorf("Reconciling still set after the throttling ended")
		}
		return nil
	})
}

// A check that finds nothing changed writes nothing: the object's resourceVersion
// stays put over several drift periods.
func TestSteadyStateWritesNoStatus(t *testing.T) {
	e := newEnv(t)
	rs := readyPair(t, e)
	c := newClient(e.ns, "still", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	time.Sleep(time.Second)
	if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(context.Background(), keyOf(rs), rs); err != nil {
		t.Fatal(err)
	}
	clientRV, serverRV := c.ResourceVersion, rs.ResourceVersion
	e.api.reset()
	time.Sleep(5 * time.Second) // drift period 2s: at least two checks each
	if e.api.counts()["DescribeUserPoolClient"] == 0 {
		t.Fatal("no check happened in the window")
	}
	_ = k8s.Get(context.Background(), keyOf(c), c)
	_ = k8s.Get(context.Background(), keyOf(rs), rs)
	if c.ResourceVersion != clientRV || rs.ResourceVersion != serverRV {
		t.Errorf("steady-state checks wrote the objects: M2MClient %s -> %s, ResourceServer %s -> %s",
			clientRV, c.ResourceVersion, serverRV, rs.ResourceVersion)
	}
}

// A restarted manager spreads the first checks of settled objects over the drift
// period instead of describing every client at once.
func TestRestartSpreadsChecks(t *testing.T) {
	const n = 20
	period := 10 * time.Second
	e := newEnv(t, withDriftPeriod(period))
	readyPair(t, e)
	var clients []*v1alpha1.M2MClient
	for i := range n {
		c := newClient(e.ns, "spread-"+string(rune('a'+i)), "weather", "read")
		mustCreate(t, c)
		clients = append(clients, c)
	}
	for _, c := range clients {
		waitReady(t, c)
	}
	e.stop()
	e.restart()
	time.Sleep(time.Second)
	early := e.api.counts()["DescribeUserPoolClient"]
	// Expected about n/10 in the first second; all of them at once is the stampede.
	if early > n/3 {
		t.Errorf("%d of %d clients described in the first second after a restart", early, n)
	}
	eventually(t, period+5*time.Second, func() error {
		if got := e.api.counts()["DescribeUserPoolClient"]; got < n {
			return fmt.Errorf("%d of %d clients checked since the restart", got, n)
		}
		return nil
	})
}
