package controllers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/auth/authtest"
	authclient "github.com/cognito-m2m/operator/auth/client"
	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/auth/verify"
	"github.com/cognito-m2m/operator/controllers"
)

func rotatingClient(ns, name string, grace time.Duration) *v1alpha1.M2MClient {
	c := newClient(ns, name, "weather", "read")
	c.Spec.AccessTokenValidity = &metav1.Duration{Duration: 5 * time.Minute}
	c.Spec.Rotation = &v1alpha1.SecretRotation{
		Interval:    &metav1.Duration{Duration: 24 * time.Hour},
		GracePeriod: &metav1.Duration{Duration: grace},
	}
	return c
}

// requestRotation sets the rotate annotation to value.
func requestRotation(t *testing.T, c *v1alpha1.M2MClient, value string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			return err
		}
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[v1alpha1.RotateAnnotation] = value
		return k8s.Update(context.Background(), c)
	})
}

// waitRotated waits until the rotation asked for with value has finished.
func waitRotated(t *testing.T, c *v1alpha1.M2MClient, value string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			return err
		}
		r := c.Status.Rotation
		if r == nil || r.LastRequest != value || r.Phase != "" || r.CurrentSecretID == "" {
			return fmt.Errorf("rotation not finished: %+v", r)
		}
		return nil
	})
}

// waitPhase waits until the rotation is in phase.
func waitPhase(t *testing.T, c *v1alpha1.M2MClient, phase v1alpha1.RotationPhase) {
	t.Helper()
	eventually(t, 20*time.Second, func() error {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			return err
		}
		if r := c.Status.Rotation; r == nil || r.Phase != phase {
			return fmt.Errorf("rotation %+v, want phase %s", r, phase)
		}
		return nil
	})
}

// checkRotated checks the end of a rotation: Cognito holds exactly the secret
// status names as current, and the Secret holds it alone and signs in.
func checkRotated(t *testing.T, e *testEnv, c *v1alpha1.M2MClient) {
	t.Helper()
	ids := clientSecretIDs(t, e.pool, c.Status.ClientID)
	if len(ids) != 1 || ids[0] != c.Status.Rotation.CurrentSecretID {
		t.Fatalf("after the rotation Cognito holds %v, want exactly the current %s", ids, c.Status.Rotation.CurrentSecretID)
	}
	eventually(t, 10*time.Second, func() error {
		s := getSecret(t, e.ns, c.SecretName())
		if _, has := s.Data["client_secret_previous"]; has {
			return errors.New("previous secret still in the Secret")
		}
		_, err := tokenFrom(s)
		return err
	})
}

func clientSecretIDs(t *testing.T, pool, clientID string) []string {
	t.Helper()
	out, err := cognitoClient().ListUserPoolClientSecrets(context.Background(), &cip.ListUserPoolClientSecretsInput{
		UserPoolId: aws.String(pool), ClientId: aws.String(clientID),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.ClientSecrets {
		ids = append(ids, aws.ToString(s.ClientSecretId))
	}
	return ids
}

// mountSecret copies the Secret into dir whenever it changes, the way the kubelet
// updates a mounted Secret, until ctx ends.
func mountSecret(ctx context.Context, t *testing.T, ns, name, dir string) {
	var last string
	for ctx.Err() == nil {
		s := &corev1.Secret{}
		if err := k8s.Get(ctx, keyOf(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}), s); err == nil && s.ResourceVersion != last {
			files := map[string]string{}
			for k, v := range s.Data {
				files[k] = string(v)
			}
			if err := authtest.WriteSecretDir(dir, files); err != nil {
				t.Errorf("mounting Secret: %v", err)
				return
			}
			last = s.ResourceVersion
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A rotation while a caller calls a protected service continuously: the caller uses
// the auth package with the Secret mounted as files and renews its token every
// fraction of a second (so it signs in with whatever secret the mount holds, all
// through the rotation), and not one call fails. Afterwards Cognito holds exactly
// one secret, the one in the Secret, and the old one is refused.
func TestRotationUnderLoad(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := rotatingClient(e.ns, "busy", 3*time.Second)
	mustCreate(t, c)
	waitReady(t, c)
	oldSecret := string(getSecret(t, e.ns, c.SecretName()).Data["client_secret"])

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	go mountSecret(ctx, t, e.ns, c.SecretName(), dir)
	eventually(t, 5*time.Second, func() error { _, err := credentials.ReadDir(dir); return err })

	v, err := verify.New(verify.Config{Issuer: emu.IssuerURL(e.pool)})
	if err != nil {
		t.Fatal(err)
	}
	go v.Run(ctx)
	scope := c.Status.Scopes[0]
	weather := httptest.NewServer(verify.Require(v, scope)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`[]`))
	})))
	defer weather.Close()

	creds, err := credentials.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A 5-minute token renewed at 0.2% of its life: every ~0.6s.
	ts, err := authclient.New(authclient.Config{Credentials: creds}, authclient.WithRenewal(0.002, 0.0001))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	httpc := ts.Client(nil)

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := httpc.Get(weather.URL)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						ok.Add(1)
						continue
					}
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				if ctx.Err() == nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	start := time.Now()
	requestRotation(t, c, "1")
	waitRotated(t, c, "1", 30*time.Second)
	renewedBefore := ts.Stats().Renewals
	// And a while on the new secret alone: at least one renewal (every ~0.6s, later
	// on a loaded machine) and two seconds.
	onNew := time.Now()
	deadline := onNew.Add(15 * time.Second)
	for time.Now().Before(deadline) && (ts.Stats().Renewals == renewedBefore || time.Since(onNew) < 2*time.Second) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	elapsed := time.Since(start)

	t.Logf("%d calls in %s (%.0f/s), %d token requests, %d failed", ok.Load(), elapsed.Round(time.Millisecond), float64(ok.Load())/elapsed.Seconds(), ts.Stats().TokenEndpointRequests, failed.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d calls failed during the rotation; first: %v", n, firstErr.Load())
	}
	// Renewals after the old secret was deleted can only have used the new one.
	if after := ts.Stats().Renewals - renewedBefore; after < 1 {
		t.Errorf("no token renewal after the old secret was deleted; the caller never signed in with the new one")
	}
	if ok.Load() < 500 {
		t.Errorf("only %d calls made; the load did not cover the rotation", ok.Load())
	}
	if ids := clientSecretIDs(t, e.pool, c.Status.ClientID); len(ids) != 1 || ids[0] != c.Status.Rotation.CurrentSecretID {
		t.Errorf("Cognito holds secrets %v, want exactly the current %s", ids, c.Status.Rotation.CurrentSecretID)
	}
	s := getSecret(t, e.ns, c.SecretName())
	if _, has := s.Data["client_secret_previous"]; has || string(s.Data["client_secret"]) == oldSecret {
		t.Errorf("Secret after rotation: previous kept %v, secret unchanged %v", has, string(s.Data["client_secret"]) == oldSecret)
	}
	if _, err := tokenFrom(s); err != nil {
		t.Errorf("new secret refused: %v", err)
	}
	s.Data["client_secret"] = []byte(oldSecret)
	if _, err := tokenFrom(s); err == nil {
		t.Error("old secret still accepted after the rotation")
	}
}

// The manager is killed at each step of a rotation. The restarted manager finishes
// it: Cognito never holds more than two secrets and ends with exactly one, the one
// in the Secret, which works; the new secret is never lost.
func TestRotationSurvivesKillAtEachStep(t *testing.T) {
	points := map[string]struct {
		op     string
		before bool
	}{
		"after listing secrets to start": {op: "ListUserPoolClientSecrets"},
		"before adding the new secret":   {op: "AddUserPoolClientSecret", before: true},
		"after adding the new secret":    {op: "AddUserPoolClientSecret"},
		"before deleting the old secret": {op: "DeleteUserPoolClientSecret", before: true},
		"after deleting the old secret":  {op: "DeleteUserPoolClientSecret"},
	}
	e := newEnv(t)
	readyPair(t, e)
	i := 0
	for name, p := range points {
		i++
		t.Run(name, func(t *testing.T) {
			c := rotatingClient(e.ns, fmt.Sprintf("kill%d", i), time.Second)
			mustCreate(t, c)
			waitReady(t, c)

			e.killOn(p.op, p.before)
			requestRotation(t, c, "now")
			e.waitKilled()
			if ids := clientSecretIDs(t, e.pool, c.Status.ClientID); len(ids) == 0 || len(ids) > 2 {
				t.Fatalf("after the kill Cognito holds %d secrets", len(ids))
			}

			e.restart()
			waitRotated(t, c, "now", 30*time.Second)
			checkRotated(t, e, c)
		})
	}
}

// The operator stops after writing the rotated Secret and before recording
// the end of Adding in status (the status write is the last of a pass). The
// restarted operator finds Adding in status, both secrets in the Secret and
// the new one in Cognito: it must finish the step with the value Cognito
// holds, not stage another that Cognito never gets.
func TestRotationResumesAddingAfterItsSecretWrite(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := rotatingClient(e.ns, "resume", time.Hour)
	mustCreate(t, c)
	waitReady(t, c)
	requestRotation(t, c, "now")
	waitPhase(t, c, v1alpha1.RotationGrace)
	e.stop()
	before := getSecret(t, e.ns, c.SecretName())
	c.Status.Rotation.Phase = v1alpha1.RotationAdding
	if err := k8s.Status().Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}

	e.restart()
	waitPhase(t, c, v1alpha1.RotationGrace)
	after := getSecret(t, e.ns, c.SecretName())
	for _, k := range []string{"client_secret", "client_secret_previous"} {
		if !bytes.Equal(after.Data[k], before.Data[k]) {
			t.Errorf("%s changed when the Adding step was resumed", k)
		}
	}
	if _, err := tokenFrom(after); err != nil {
		t.Errorf("the Secret's client_secret is refused: %v", err)
	}
	if ids := clientSecretIDs(t, e.pool, c.Status.ClientID); len(ids) != 2 {
		t.Errorf("Cognito holds %d secrets in the grace period, want 2", len(ids))
	}
}

// laggingClient serves each object of one kind (M2MClient or ResourceServer)
// once as it was one write earlier, as the manager's cache does when a pass
// starts before the watch has brought the object's last status write.
type laggingClient struct {
	client.Client
	kind string // the Go type of the objects served late, such as *v1alpha1.M2MClient
	mu   sync.Mutex
	last map[string]client.Object // the newest version served, by key
	prev map[string]client.Object // the one before it
}

// withCacheOneWriteBehind runs the manager on a laggingClient for the kind of
// obj. Only one kind lags: a pass woken by an event of another object reads
// that object current, as the manager's cache does.
func withCacheOneWriteBehind(obj client.Object) envOption {
	kind := fmt.Sprintf("%T", obj)
	return func(e *testEnv) {
		e.wrapClient = func(c client.Client) client.Client {
			return &laggingClient{Client: c, kind: kind, last: map[string]client.Object{}, prev: map[string]client.Object{}}
		}
	}
}

func (l *laggingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := l.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if fmt.Sprintf("%T", obj) != l.kind {
		return nil
	}
	id := key.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if last := l.last[id]; last == nil || last.GetResourceVersion() != obj.GetResourceVersion() {
		l.prev[id], l.last[id] = l.last[id], obj.DeepCopyObject().(client.Object)
		if old := l.prev[id]; old != nil {
			// Once: the next Get of this version is current.
			switch o := obj.(type) {
			case *v1alpha1.M2MClient:
				old.(*v1alpha1.M2MClient).DeepCopyInto(o)
			case *v1alpha1.ResourceServer:
				old.(*v1alpha1.ResourceServer).DeepCopyInto(o)
			}
		}
	}
	return nil
}

// Rotations with a cache one write behind: each pass may start from the
// object as it was before the previous pass's status write. The rotation
// must still end with the Secret holding the one secret Cognito has.
func TestRotationWithACacheOneWriteBehind(t *testing.T) {
	e := newEnv(t, withCacheOneWriteBehind(&v1alpha1.M2MClient{}))
	readyPair(t, e)
	c := rotatingClient(e.ns, "lagging", time.Second)
	mustCreate(t, c)
	waitReady(t, c)
	for i, value := range []string{"first", "second", "third"} {
		requestRotation(t, c, value)
		waitRotated(t, c, value, 40*time.Second)
		t.Logf("rotation %d", i+1)
		checkRotated(t, e, c)
	}
}

// Creation with a cache one write behind: a pass may start from the object
// as it was before the previous pass recorded the app client it created.
// Each object still gets exactly one app client.
func TestCreationWithACacheOneWriteBehind(t *testing.T) {
	e := newEnv(t, withCacheOneWriteBehind(&v1alpha1.M2MClient{}))
	readyPair(t, e)
	var objs []*v1alpha1.M2MClient
	for i := range 10 {
		c := newClient(e.ns, fmt.Sprintf("lag%d", i), "weather", "read")
		mustCreate(t, c)
		objs = append(objs, c)
	}
	for _, c := range objs {
		waitReady(t, c)
	}
	time.Sleep(3 * time.Second) // a drift period: any late duplicate shows
	for _, c := range objs {
		if ids := clientsNamed(t, e.pool, e.ns+"-"+c.Name); len(ids) != 1 {
			t.Errorf("%s: Cognito has %d app clients for it, want 1", c.Name, len(ids))
		}
	}
}

// ResourceServers created with a cache one write behind: a pass that starts
// from the object before its own creation was recorded must recognise the
// server it made, not refuse it as one to adopt.
func TestResourceServerCreationWithACacheOneWriteBehind(t *testing.T) {
	e := newEnv(t, withCacheOneWriteBehind(&v1alpha1.ResourceServer{}))
	var objs []*v1alpha1.ResourceServer
	for i := range 5 {
		rs := newRS(e.ns, fmt.Sprintf("lag%d", i), fmt.Sprintf("lag%d-%s", i, e.ns), "read")
		mustCreate(t, rs)
		objs = append(objs, rs)
	}
	for _, rs := range objs {
		waitReady(t, rs)
	}
	time.Sleep(3 * time.Second) // a drift period
	for _, rs := range objs {
		if err := k8s.Get(context.Background(), keyOf(rs), rs); err != nil {
			t.Fatal(err)
		}
		if rs.Status.Ownership != v1alpha1.OwnershipCreated {
			t.Errorf("%s: ownership %q, want %q", rs.Name, rs.Status.Ownership, v1alpha1.OwnershipCreated)
		}
		if c := apimeta.FindStatusCondition(rs.Status.Conditions, "Ready"); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s: not Ready at the end: %+v", rs.Name, c)
		}
	}
}

// A schedule shows the next rotation in status, from the current secret's age.
func TestRotationSchedule(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := rotatingClient(e.ns, "scheduled", time.Minute)
	mustCreate(t, c)
	waitReady(t, c)
	eventually(t, 10*time.Second, func() error {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			return err
		}
		r := c.Status.Rotation
		if r == nil || r.NextRotation == nil || r.CurrentSecretCreated == nil {
			return fmt.Errorf("rotation status %+v", r)
		}
		if got := r.NextRotation.Sub(r.CurrentSecretCreated.Time); got != 24*time.Hour {
			return fmt.Errorf("next rotation %s after the secret's creation, want 24h", got)
		}
		return nil
	})
}

// The secret-age metric follows the current secret.
func TestSecretAgeMetric(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := rotatingClient(e.ns, "metered", time.Minute)
	mustCreate(t, c)
	waitReady(t, c)
	eventually(t, 10*time.Second, func() error {
		if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
			return err
		}
		if c.Status.Rotation == nil || c.Status.Rotation.CurrentSecretCreated == nil {
			return errors.New("no secret creation time in status yet")
		}
		got, err := controllers.SecretCreatedMetric(e.ns, c.Name, c.Status.ClientID)
		if err != nil {
			return err
		}
		if want := float64(c.Status.Rotation.CurrentSecretCreated.Unix()); got != want {
			return fmt.Errorf("metric %v, want %v", got, want)
		}
		return nil
	})
}

// A rotation with gracePeriod 0 finishes at once: the pass that adds the new
// secret is followed straight away by the one that retires the old, rather than
// leaving the rotation in Grace until something else wakes the object (here,
// nothing would for a minute: the drift period).
func TestRotationWithoutGracePeriodFinishesAtOnce(t *testing.T) {
	e := newEnv(t, withDriftPeriod(time.Minute))
	readyPair(t, e)
	c := rotatingClient(e.ns, "no-grace", 0)
	mustCreate(t, c)
	waitReady(t, c)
	requestRotation(t, c, "now")
	waitRotated(t, c, "now", 15*time.Second)
	if ids := clientSecretIDs(t, e.pool, c.Status.ClientID); len(ids) != 1 || ids[0] != c.Status.Rotation.CurrentSecretID {
		t.Errorf("app client has secrets %v after the rotation, want only %s", ids, c.Status.Rotation.CurrentSecretID)
	}
}
