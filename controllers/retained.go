package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// What one namespace may leave in Cognito. deletionPolicy Retain leaves a resource
// server or an app client behind its deleted object, where it counts against the
// pool's limits (25 resource servers, 1,000 app clients) for every team. So the
// operator keeps a ledger of what each namespace retained (a Secret in its own
// namespace: tenants cannot read or write it, it survives restarts), and allows
// Retain to at most Config.MaxRetainedPerNamespace resources per namespace,
// counting those already left and the live objects that ask for Retain, oldest
// first. An object beyond the bound is not created in Cognito: it waits, with a
// condition saying why, and is looked at again every drift period, so it becomes
// Ready by itself once room is freed (a retained resource deleted in Cognito, an
// object switched to Delete, or a higher bound).

// RetainedLedgerName is the Secret holding the ledger of retained resources.
const RetainedLedgerName = "cognito-m2m-operator-retained"

// retainedEntry is one retained resource in the ledger: "<kind> <pool> <id>".
func retainedEntry(kind, pool, id string) string { return kind + " " + pool + " " + id }

const (
	kindResourceServer = "resourceserver"
	kindAppClient      = "appclient"
)

// retainAllowed decides whether the object at position rank among its namespace's
// live Retain objects (0 = oldest) may be retained, when the namespace already left
// recorded resources behind. A limit of 0 means no bound.
func retainAllowed(limit, recorded, rank int) bool {
	return limit <= 0 || recorded+rank < limit
}

// retainer is what both reconcilers need to apply the bound.
type retainer struct {
	c      client.Client
	reader client.Reader
	// limit is Config.MaxRetainedPerNamespace, kept in the ledger in
	// ledgerNamespace (Config.RetainedLedgerNamespace).
	limit           int
	ledgerNamespace string
	cognito         *cognito.Client
}

// check returns a waiting error when obj asks for Retain beyond its namespace's
// bound. Before refusing, it drops from the ledger the resources that are gone
// from Cognito, so that room freed by an admin counts at once.
func (r *retainer) check(ctx context.Context, obj client.Object, policy v1alpha1.DeletionPolicy) error {
	if r == nil {
		return nil
	}
	limit := r.limit
	if limit <= 0 || policy != v1alpha1.DeletionPolicyRetain {
		return nil
	}
	rank, err := r.rank(ctx, obj)
	if err != nil {
		return err
	}
	recorded, err := r.recorded(ctx, obj.GetNamespace())
	if err != nil {
		return err
	}
	if retainAllowed(limit, len(recorded), rank) {
		return nil
	}
	if recorded, err = r.prune(ctx, obj.GetNamespace(), recorded); err != nil {
		return err
	}
	if retainAllowed(limit, len(recorded), rank) {
		return nil
	}
	return waiting(v1alpha1.ReasonRetainLimitReached,
		"deletionPolicy Retain refused: namespace %s already leaves %d resources in Cognito and has %d older objects with Retain, and a cluster admin allows %d (--max-retained-per-namespace); set deletionPolicy Delete, or free room by deleting retained resources in Cognito",
		obj.GetNamespace(), len(recorded), rank, limit)
}

// rank is the number of live objects (both kinds) in obj's namespace that ask for
// Retain and are older than obj.
func (r *retainer) rank(ctx context.Context, obj client.Object) (int, error) {
	var servers v1alpha1.ResourceServerList
	if err := r.c.List(ctx, &servers, client.InNamespace(obj.GetNamespace())); err != nil {
		return 0, fmt.Errorf("listing ResourceServers in %s to rank requests for Retain: %w", obj.GetNamespace(), err)
	}
	var clients v1alpha1.M2MClientList
	if err := r.c.List(ctx, &clients, client.InNamespace(obj.GetNamespace())); err != nil {
		return 0, fmt.Errorf("listing M2MClients in %s to rank requests for Retain: %w", obj.GetNamespace(), err)
	}
	var older []client.Object
	for i := range servers.Items {
		if s := &servers.Items[i]; s.Spec.DeletionPolicy == v1alpha1.DeletionPolicyRetain && s.DeletionTimestamp.IsZero() {
			older = append(older, s)
		}
	}
	for i := range clients.Items {
		if c := &clients.Items[i]; c.Spec.DeletionPolicy == v1alpha1.DeletionPolicyRetain && c.DeletionTimestamp.IsZero() {
			older = append(older, c)
		}
	}
	n := 0
	for _, o := range older {
		if o.GetUID() != obj.GetUID() && retainOrderBefore(o, obj) {
			n++
		}
	}
	return n, nil
}

// retainOrderBefore orders objects by creation, then kind and name, so that every
// pass agrees which objects hold the namespace's Retain allowance.
func retainOrderBefore(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return fmt.Sprintf("%T/%s", a, a.GetName()) < fmt.Sprintf("%T/%s", b, b.GetName())
}

// recorded is the namespace's ledger entries.
func (r *retainer) recorded(ctx context.Context, ns string) ([]string, error) {
	s, err := r.ledger(ctx)
	if err != nil || s == nil {
		return nil, err
	}
	return splitEntries(string(s.Data[ns])), nil
}

func splitEntries(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (r *retainer) ledger(ctx context.Context) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.reader.Get(ctx, client.ObjectKey{Namespace: r.ledgerNamespace, Name: RetainedLedgerName}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the ledger of retained resources: %w", err)
	}
	return s, nil
}

// update changes the namespace's entries in the ledger, creating it when missing.
func (r *retainer) update(ctx context.Context, ns string, change func([]string) []string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := r.ledger(ctx)
		if err != nil {
			return err
		}
		if s == nil {
			s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.ledgerNamespace, Name: RetainedLedgerName}}
			s.Data = map[string][]byte{ns: []byte(strings.Join(change(nil), "\n"))}
			err := r.c.Create(ctx, s)
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("secrets"), RetainedLedgerName, err)
			}
			if err != nil {
				return fmt.Errorf("creating the ledger of retained resources: %w", err)
			}
			return nil
		}
		before := splitEntries(string(s.Data[ns]))
		after := change(slices.Clone(before))
		if slices.Equal(before, after) {
			return nil
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[ns] = []byte(strings.Join(after, "\n"))
		if err := r.c.Update(ctx, s); err != nil {
			return fmt.Errorf("updating the ledger of retained resources: %w", err)
		}
		return nil
	})
}

// record adds a retained resource to its namespace's ledger.
func (r *retainer) record(ctx context.Context, ns, entry string) error {
	if r == nil || r.limit <= 0 {
		return nil
	}
	err := r.update(ctx, ns, func(es []string) []string {
		if slices.Contains(es, entry) {
			return es
		}
		return append(es, entry)
	})
	if err != nil {
		return fmt.Errorf("recording retained %s in the ledger: %w", entry, err)
	}
	return nil
}

// prune drops the entries whose resource is gone from Cognito, and returns those
// that remain.
func (r *retainer) prune(ctx context.Context, ns string, entries []string) ([]string, error) {
	var gone []string
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) != 3 {
			gone = append(gone, e)
			continue
		}
		var err error
		switch f[0] {
		case kindResourceServer:
			_, err = r.cognito.ResourceServer(ctx, f[1], f[2])
		case kindAppClient:
			_, err = r.cognito.AppClient(ctx, f[1], f[2])
		}
		switch {
		case cognito.IsNotFound(err):
			gone = append(gone, e)
		case err != nil:
			return nil, cognitoFailed("checking a retained resource", err)
		}
	}
	if len(gone) == 0 {
		return entries, nil
	}
	if err := r.update(ctx, ns, func(es []string) []string {
		return slices.DeleteFunc(es, func(e string) bool { return slices.Contains(gone, e) })
	}); err != nil {
		return nil, fmt.Errorf("dropping resources gone from Cognito from the ledger: %w", err)
	}
	return slices.DeleteFunc(entries, func(e string) bool { return slices.Contains(gone, e) }), nil
}
