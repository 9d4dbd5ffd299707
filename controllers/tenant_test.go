package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// The tenancy suite plays a team that may write ResourceServers, M2MClients and
// Secrets in its own namespace only, as a platform team would set it up: every
// write below goes through the API server as that user (impersonation, real RBAC).
// Each attack must be refused with the victim's Cognito objects and Secrets left as
// they were, and the tenant's legitimate flows must still work.

// tenant is a user limited to one namespace.
type tenant struct {
	ns string
	c  client.Client
}

// newTenant creates a namespace and a user whose Role allows the project's objects
// and Secrets there, and nothing else.
func newTenant(t *testing.T, ns string) *tenant {
	t.Helper()
	ctx := context.Background()
	newNamespace(t, ns, nil)
	user := "tenant-" + ns
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"resourceservers", "m2mclients"}, Verbs: []string{"*"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"get", "list"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "team"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = k8s.DeleteAllOf(ctx, &v1alpha1.M2MClient{}, inNS(ns))
		_ = k8s.DeleteAllOf(ctx, &v1alpha1.ResourceServer{}, inNS(ns))
	})
	return &tenant{ns: ns, c: c}
}

func (tn *tenant) create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := tn.c.Create(context.Background(), obj); err != nil {
		t.Fatalf("tenant creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// annotateNamespace sets an annotation as a cluster admin would.
func annotateNamespace(t *testing.T, ns, key, value string) {
	t.Helper()
	n := &corev1.Namespace{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: ns}, n); err != nil {
		t.Fatal(err)
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[key] = value
	if err := k8s.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

func allowAdoption(t *testing.T, ns string) {
	t.Helper()
	annotateNamespace(t, ns, v1alpha1.AllowAdoptionAnnotation, "true")
}

func createRSInCognito(t *testing.T, pool, identifier, name string, scopes ...string) {
	t.Helper()
	in := &cip.CreateResourceServerInput{UserPoolId: aws.String(pool), Identifier: aws.String(identifier), Name: aws.String(name)}
	for _, s := range scopes {
		in.Scopes = append(in.Scopes, types.ResourceServerScopeType{ScopeName: aws.String(s), ScopeDescription: aws.String(s)})
	}
	if _, err := cognitoClient().CreateResourceServer(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// unchangedRS asserts that Cognito still holds the resource server as it was made.
func unchangedRS(t *testing.T, pool, identifier, name string, scopes ...string) {
	t.Helper()
	got, err := describeRS(t, pool, identifier)
	if err != nil {
		t.Fatalf("the victim's resource server %s is gone: %v", identifier, err)
	}
	if diff := cmp.Diff(scopes, scopeNames(got)); diff != "" || aws.ToString(got.Name) != name {
		t.Errorf("the victim's resource server %s changed: name %q, scopes (-want +got):\n%s", identifier, aws.ToString(got.Name), diff)
	}
}

func TestTenantCannotTakeOverResourceServers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")

	t.Run("RBAC keeps the tenant to its namespace", func(t *testing.T) {
		n := &corev1.Namespace{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: tn.ns}, n); err != nil {
			t.Fatal(err)
		}
		n.Annotations = map[string]string{v1alpha1.AllowAdoptionAnnotation: "true"}
		if err := tn.c.Update(ctx, n); !apierrors.IsForbidden(err) {
			t.Errorf("tenant annotating its own namespace: got %v, want Forbidden", err)
		}
		if err := tn.c.Create(ctx, newRS(e.ns, "intruder", "intruder-"+e.ns, "read")); !apierrors.IsForbidden(err) {
			t.Errorf("tenant creating in another namespace: got %v, want Forbidden", err)
		}
	})

	t.Run("a resource server made outside the cluster is refused, then adopted when an admin allows it", func(t *testing.T) {
		id := "external-" + e.ns
		createRSInCognito(t, e.pool, id, "External", "read")
		rs := newRS(tn.ns, "grab", id, "admin")
		tn.create(t, rs)
		waitCondition(t, rs, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAdoptionDenied)
		if c := apimetaCondition(rs.Status.Conditions, v1alpha1.ConditionReady); !strings.Contains(c, v1alpha1.AllowAdoptionAnnotation) {
			t.Errorf("the refusal does not say how an admin allows adoption: %q", c)
		}
		unchangedRS(t, e.pool, id, "External", "read")

		// Deleting the refused object leaves the server alone.
		if err := tn.c.Delete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		waitGone(t, rs)
		unchangedRS(t, e.pool, id, "External", "read")

		// The admin allows adoption in the namespace: the same claim now succeeds,
		// is recorded as an adoption, and the server outlives the object.
		allowAdoption(t, tn.ns)
		t.Cleanup(func() { annotateNamespace(t, tn.ns, v1alpha1.AllowAdoptionAnnotation, "false") })
		rs = newRS(tn.ns, "grab", id, "admin")
		tn.create(t, rs)
		waitReady(t, rs)
		if rs.Status.Ownership != v1alpha1.OwnershipAdopted {
			t.Errorf("status.ownership = %q, want Adopted", rs.Status.Ownership)
		}
		if err := tn.c.Delete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		waitGone(t, rs)
		if _, err := describeRS(t, e.pool, id); err != nil {
			t.Errorf("an adopted resource server was deleted with its object: %v", err)
		}
	})

	t.Run("a server retained by a deleted object is refused", func(t *testing.T) {
		kept := newRS(e.ns, "kept", "kept-"+e.ns, "read")
		kept.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
		mustCreate(t, kept)
		waitReady(t, kept)
		if kept.Status.Ownership != v1alpha1.OwnershipCreated {
			t.Errorf("status.ownership = %q, want Created", kept.Status.Ownership)
		}
		if err := k8s.Delete(ctx, kept); err != nil {
			t.Fatal(err)
		}
		waitGone(t, kept)
		rs := newRS(tn.ns, "grab-kept", kept.Spec.Identifier, "admin")
		tn.create(t, rs)
		waitCondition(t, rs, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAdoptionDenied)
		unchangedRS(t, e.pool, kept.Spec.Identifier, kept.Spec.Name, "read")
		if err := tn.c.Delete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		waitGone(t, rs)
		unchangedRS(t, e.pool, kept.Spec.Identifier, kept.Spec.Name, "read")
	})

	t.Run("another user pool is refused", func(t *testing.T) {
		other, err := emu.EnsureUserPool("other-"+e.ns, "")
		if err != nil {
			t.Fatal(err)
		}
		rs := newRS(tn.ns, "elsewhere", "elsewhere-"+e.ns, "read")
		rs.Spec.UserPoolID = other
		tn.create(t, rs)
		waitCondition(t, rs, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonUserPoolDenied)
		if _, err := describeRS(t, other, rs.Spec.Identifier); err == nil {
			t.Error("a resource server was created in a pool the operator does not manage")
		}
		c := newClient(tn.ns, "elsewhere", "elsewhere", "read")
		c.Spec.UserPoolID = other
		tn.create(t, c)
		waitCondition(t, c, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonUserPoolDenied)
		if ids := clientsNamed(t, other, cognito.DefaultClientName(c.Namespace, c.Name)); len(ids) != 0 {
			t.Errorf("app clients created in a pool the operator does not manage: %v", ids)
		}
	})

	t.Run("the tenant's own server still works end to end", func(t *testing.T) {
		rs := newRS(tn.ns, "own", "own-"+e.ns, "read")
		tn.create(t, rs)
		waitReady(t, rs)
		if rs.Status.Ownership != v1alpha1.OwnershipCreated {
			t.Errorf("status.ownership = %q, want Created", rs.Status.Ownership)
		}
		if err := tn.c.Delete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		waitGone(t, rs)
		if _, err := describeRS(t, e.pool, rs.Spec.Identifier); err == nil {
			t.Error("the resource server the tenant created outlived its object")
		}
	})
}

// With --restrict-identifiers, a namespace claims only the identifiers an admin
// listed for it, so a tenant cannot squat another team's identifier.
func TestTenantCannotClaimAnotherTeamsIdentifier(t *testing.T) {
	e := newEnv(t, withConfig(func(o *controllers.Config) { o.RestrictIdentifiers = true }))
	tn := newTenant(t, e.ns+"-tenant")
	billing := "Billing-" + e.ns
	annotateNamespace(t, e.ns, v1alpha1.AllowedIdentifiersAnnotation, billing+", https://"+e.ns+".example.com/*")

	squat := newRS(tn.ns, "billing", billing, "charge")
	tn.create(t, squat)
	waitCondition(t, squat, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonIdentifierDenied)
	if _, err := describeRS(t, e.pool, billing); err == nil {
		t.Fatal("the squatter's resource server was created")
	}

	owner := newRS(e.ns, "billing", billing, "charge")
	mustCreate(t, owner)
	waitReady(t, owner)
	byPattern := newRS(e.ns, "api", "https://"+e.ns+".example.com/api", "read")
	mustCreate(t, byPattern)
	waitReady(t, byPattern)
}

func TestTenantCannotSteerClientRecovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")

	// The victim: an application with its own app client, named victim-app.
	readyPair(t, e)
	victim := newClient(e.ns, "victim", "weather", "read")
	victim.Spec.ClientName = "victim-app"
	mustCreate(t, victim)
	waitReady(t, victim)
	victimSecret := getSecret(t, e.ns, victim.SecretName())

	rs := newRS(tn.ns, "own", "own-"+e.ns, "read")
	tn.create(t, rs)
	waitReady(t, rs)

	for _, tc := range []struct {
		name, obj string
		fault     error
	}{
		// Cognito refused the create: nothing was made, so the mark is cleared.
		{"after refused creates", "steer-refused", &types.ScopeDoesNotExistException{Message: aws.String("refused")}},
		// No answer: the create may have happened, so the mark stays; but it
		// names what was sent, and sending another name starts a new mark.
		{"after creates with no answer", "steer-lost", errors.New("connection reset by peer")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every create fails while the tenant renames its client to the victim's
			// client name; then Cognito answers again.
			var failing atomic.Bool
			var attempts atomic.Int32
			failing.Store(true)
			e.api.setHooks(func(op string) error {
				if op == "CreateUserPoolClient" && failing.Load() {
					attempts.Add(1)
					return tc.fault
				}
				return nil
			}, nil)
			defer e.api.setHooks(nil, nil)
			c := newClient(tn.ns, tc.obj, "own", "read")
			c.Spec.ClientName = "tenant-app"
			tn.create(t, c)
			eventually(t, 20*time.Second, func() error {
				if attempts.Load() == 0 {
					return errors.New("no create attempted yet")
				}
				return nil
			})
			if err := retry.RetryOnConflict(editBackoff, func() error {
				if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
					return err
				}
				c.Spec.ClientName = "victim-app"
				return tn.c.Update(ctx, c)
			}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, func() error {
				if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
					return err
				}
				if c.Status.ClientName != "victim-app" {
					return fmt.Errorf("no create attempted with the new name yet (%q)", c.Status.ClientName)
				}
				return nil
			})
			failing.Store(false)
			waitReady(t, c)
			got := getSecret(t, tn.ns, c.SecretName())
			if c.Status.ClientID == victim.Status.ClientID || string(got.Data["client_id"]) == victim.Status.ClientID ||
				string(got.Data["client_secret"]) == string(victimSecret.Data["client_secret"]) {
				t.Fatal("the tenant received the victim's app client")
			}
			if err := tn.c.Delete(ctx, c); err != nil {
				t.Fatal(err)
			}
			waitGone(t, c)
			if _, err := describeClient(e.pool, victim.Status.ClientID); err != nil {
				t.Fatalf("deleting the tenant's object deleted the victim's app client: %v", err)
			}
		})
	}
	if got := getSecret(t, e.ns, victim.SecretName()); !cmp.Equal(got.Data, victimSecret.Data) {
		t.Error("the victim's Secret changed")
	}
}

// A reference to another namespace's ResourceServer tells the tenant nothing it
// is not granted: a missing server and a server that grants nothing read the same.
func TestTenantLearnsNothingAboutOtherNamespaces(t *testing.T) {
	e := newEnv(t)
	tn := newTenant(t, e.ns+"-tenant")
	secretRS := readyPair(t, e)

	probe := func(name, target string) string {
		c := newClient(tn.ns, name, target, "read")
		c.Spec.Scopes[0].ResourceServer.Namespace = e.ns
		tn.create(t, c)
		waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonScopeNotGranted)
		return strings.ReplaceAll(apimetaMessage(c), target, "<name>")
	}
	exists, missing := probe("probe-exists", "weather"), probe("probe-missing", "nothing-here")
	if exists != missing {
		t.Errorf("an existing, ungranted server reads differently from a missing one:\n  %s\n  %s", exists, missing)
	}
	var events eventsv1.EventList
	if err := tn.c.List(context.Background(), &events, inNS(tn.ns)); err != nil {
		t.Fatal(err)
	}
	for _, text := range append([]string{exists}, eventNotes(events)...) {
		if strings.Contains(text, secretRS.Spec.Identifier) {
			t.Errorf("the tenant can read another namespace's identifier: %q", text)
		}
	}
}

func eventNotes(l eventsv1.EventList) []string {
	var notes []string
	for _, ev := range l.Items {
		notes = append(notes, ev.Note)
	}
	return notes
}

// Every grant withdrawn: the app client's flows go off and Cognito refuses it a
// token; granted again, it gets tokens again. No step leaves it a scope it lost.
func TestWithdrawnGrantRevokesAccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	granted := e.ns + "-granted"
	newNamespace(t, granted, map[string]string{"m2m.dev/reader": "true"})
	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read")
	rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Selector: &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"m2m.dev/reader": "true"}}}
	mustCreate(t, rs)
	waitReady(t, rs)
	c := crossClient(granted, "reader", e.ns, "read")
	mustCreate(t, c)
	t.Cleanup(func() { _ = k8s.DeleteAllOf(ctx, &v1alpha1.M2MClient{}, inNS(granted)) })
	waitReady(t, c)
	if _, err := tokenFrom(getSecret(t, granted, c.SecretName())); err != nil {
		t.Fatalf("token with the grant: %v", err)
	}

	setLabels := func(l map[string]string) {
		ns := &corev1.Namespace{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: granted}, ns); err != nil {
			t.Fatal(err)
		}
		ns.Labels = l
		if err := k8s.Update(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	setLabels(nil)
	waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonScopeNotGranted)
	eventually(t, 15*time.Second, func() error {
		app, err := describeClient(e.pool, c.Status.ClientID)
		if err != nil {
			return err
		}
		if aws.ToBool(app.AllowedOAuthFlowsUserPoolClient) || len(app.AllowedOAuthFlows) != 0 || len(app.AllowedOAuthScopes) != 0 {
			return fmt.Errorf("app client still has OAuth: enabled %v, flows %v, scopes %v", aws.ToBool(app.AllowedOAuthFlowsUserPoolClient), app.AllowedOAuthFlows, app.AllowedOAuthScopes)
		}
		return nil
	})
	if _, err := tokenFrom(getSecret(t, granted, c.SecretName())); err == nil {
		t.Error("Cognito issued a token to a client whose every grant was withdrawn")
	} else if !strings.Contains(err.Error(), "unauthorized_client") {
		t.Errorf("token refused with %v, want unauthorized_client", err)
	}

	setLabels(map[string]string{"m2m.dev/reader": "true"})
	waitReady(t, c)
	eventually(t, 15*time.Second, func() error {
		_, err := tokenFrom(getSecret(t, granted, c.SecretName()))
		return err
	})
}

// Secrets carrying the operator's label are watched as metadata only: a tenant that
// labels large Secrets of its own does not grow the operator's memory with them.
func TestTenantSecretsDoNotGrowOperatorMemory(t *testing.T) {
	e := newEnv(t)
	tn := newTenant(t, e.ns+"-tenant")
	const count, size = 40, 900 << 10
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// A Ready client makes the manager start its Secret watch.
	readyPair(t, e)
	c := newClient(e.ns, "watcher", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)

	before := heap()
	payload := []byte(strings.Repeat("x", size))
	for i := range count {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: fmt.Sprintf("big-%d", i),
				Labels: map[string]string{controllers.ManagedByLabel: controllers.ManagedByValue}},
			Data: map[string][]byte{"blob": payload},
		}
		tn.create(t, s)
	}
	payload = nil
	// Give the watch time to deliver every Secret to the manager.
	time.Sleep(3 * time.Second)
	grew := int64(heap()) - int64(before)
	t.Logf("heap grew by %.1f MiB after the tenant wrote %d labelled Secrets of %d KiB", float64(grew)/(1<<20), count, size>>10)
	if limit := int64(count * size / 4); grew > limit {
		t.Errorf("the operator's heap grew by %d bytes for %d tenant Secrets of %d bytes: their data is cached", grew, count, size)
	}
}

func apimetaCondition(conds []metav1.Condition, typ string) string {
	for _, c := range conds {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}
