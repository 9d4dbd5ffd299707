package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// Revocation across namespaces. A ResourceServer's owner decides which namespaces'
// M2MClients get its scopes, and the M2MClient reconciler takes a scope away from a
// client whose namespace is no longer granted. That reaches only clients a live
// M2MClient refers to: an app client left behind (deletionPolicy Retain, or a
// finalizer removed by hand) would keep the scopes for good. So each server records,
// in its status, every app client of another namespace it gives scopes to, before
// the scopes are given; each pass of the server takes its scopes from every recorded
// client whose M2MClient is gone. The record lives with the object, so it survives
// restarts, and names only what the operator itself made.

// uidIndex indexes M2MClients by UID, to find a grantee's M2MClient.
const uidIndex = "metadata.uid"

// validityCap is the shortest maxAccessTokenValidity of the other namespaces'
// ResourceServers the object refers to; zero when none caps it. It is read from
// every such reference, granted or not, so that a create and the recovery of that
// create agree on what was sent.
func (r *M2MClientReconciler) validityCap(ctx context.Context, obj *v1alpha1.M2MClient) time.Duration {
	var servers []*v1alpha1.ResourceServer
	for _, req := range obj.Spec.Scopes {
		ref := refKey(obj.Namespace, req.ResourceServer)
		rs := &v1alpha1.ResourceServer{}
		if ref.Namespace == obj.Namespace || r.Get(ctx, ref, rs) != nil {
			continue
		}
		servers = append(servers, rs)
	}
	return shortestCap(servers)
}

// shortestCap is the shortest maxAccessTokenValidity of servers; zero when none
// sets one.
func shortestCap(servers []*v1alpha1.ResourceServer) time.Duration {
	var shortest time.Duration
	for _, rs := range servers {
		if c := rs.Spec.MaxAccessTokenValidity; c != nil && c.Duration > 0 && (shortest == 0 || c.Duration < shortest) {
			shortest = c.Duration
		}
	}
	return shortest
}

// granteeRecord is the record a server should hold of obj's app client, given the
// one it holds (nil when none): the client id once there is one, else the name and
// the time from which a create of it may have landed. changed is false when the
// held record already says so.
func granteeRecord(held *v1alpha1.Grantee, obj *v1alpha1.M2MClient, now time.Time) (v1alpha1.Grantee, bool) {
	want := v1alpha1.Grantee{UID: obj.UID, ClientID: obj.Status.ClientID}
	if want.ClientID == "" {
		want.ClientNameHash = cognito.NameHash(clientName(obj))
		since := now
		if p := obj.Status.CreatePendingSince; p != nil && p.Time.Before(since) {
			since = p.Time
		}
		if held != nil && held.ClientID == "" && held.ClientNameHash == want.ClientNameHash && held.Since != nil {
			return *held, false
		}
		want.Since = ptrTime(since)
		return want, true
	}
	if held != nil && held.ClientID == want.ClientID {
		return *held, false
	}
	return want, true
}

// recordGrantees makes each of the other namespaces' servers that give obj scopes
// hold a record of obj's app client. It writes only when a record is missing or
// out of date, so a steady state costs nothing.
func (r *M2MClientReconciler) recordGrantees(ctx context.Context, obj *v1alpha1.M2MClient, foreign []*v1alpha1.ResourceServer) error {
	for _, rs := range foreign {
		if _, changed := granteeRecord(findGrantee(rs.Status.Grantees, obj.UID), obj, r.clock.Now()); !changed {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			fresh := &v1alpha1.ResourceServer{}
			if err := r.reader().Get(ctx, client.ObjectKeyFromObject(rs), fresh); err != nil {
				return fmt.Errorf("reading ResourceServer %s from the API server: %w", client.ObjectKeyFromObject(rs), err)
			}
			rec, changed := granteeRecord(findGrantee(fresh.Status.Grantees, obj.UID), obj, r.clock.Now())
			if !changed {
				return nil
			}
			patch := client.MergeFromWithOptions(fresh.DeepCopy(), client.MergeFromWithOptimisticLock{})
			fresh.Status.Grantees = slices.DeleteFunc(fresh.Status.Grantees, func(g v1alpha1.Grantee) bool { return g.UID == obj.UID })
			fresh.Status.Grantees = append(fresh.Status.Grantees, rec)
			if err := r.Status().Patch(ctx, fresh, patch); err != nil {
				return fmt.Errorf("writing the grantee record: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("recording app client %q on ResourceServer %s before giving it scopes: %w", obj.Status.ClientID, client.ObjectKeyFromObject(rs), err)
		}
	}
	return nil
}

func findGrantee(gs []v1alpha1.Grantee, uid apitypes.UID) *v1alpha1.Grantee {
	for i := range gs {
		if gs[i].UID == uid {
			return &gs[i]
		}
	}
	return nil
}

func ptrTime(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

// granteeFate is what becomes of a recorded grantee: kept while its M2MClient
// lives and has that client (or has none yet), otherwise its client loses the
// server's scopes: by id when the record has one, else by the pending create's name
// and time.
type granteeFate int

const (
	keepGrantee granteeFate = iota
	revokeByID
	revokePending
)

func fateOf(g v1alpha1.Grantee, owner *v1alpha1.M2MClient) granteeFate {
	switch {
	case owner != nil && (g.ClientID == "" || owner.Status.ClientID == "" || owner.Status.ClientID == g.ClientID):
		return keepGrantee
	case g.ClientID != "":
		return revokeByID
	}
	return revokePending
}

// revokeOrphans takes this server's scopes from every recorded app client whose
// M2MClient is gone (or has another client now), then forgets those records. The
// live M2MClients' own passes handle grants withdrawn from their namespaces.
func (r *ResourceServerReconciler) revokeOrphans(ctx context.Context, rs *v1alpha1.ResourceServer, pool string) error {
	var done []apitypes.UID
	for _, g := range rs.Status.Grantees {
		fate, err := r.fateOf(ctx, g)
		if err != nil {
			return err
		}
		switch fate {
		case keepGrantee:
			continue
		case revokeByID:
			err = r.revokeScopes(ctx, rs, pool, g.ClientID)
		case revokePending:
			err = r.revokePending(ctx, rs, pool, g)
		}
		if err != nil {
			return err
		}
		done = append(done, g.UID)
	}
	if len(done) == 0 {
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh := &v1alpha1.ResourceServer{}
		if err := r.reader().Get(ctx, client.ObjectKeyFromObject(rs), fresh); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("reading ResourceServer %s from the API server to drop grantee records: %w", client.ObjectKeyFromObject(rs), err)
		} else if err != nil {
			return nil
		}
		patch := client.MergeFromWithOptions(fresh.DeepCopy(), client.MergeFromWithOptimisticLock{})
		n := len(fresh.Status.Grantees)
		fresh.Status.Grantees = slices.DeleteFunc(fresh.Status.Grantees, func(g v1alpha1.Grantee) bool {
			held := findGrantee(rs.Status.Grantees, g.UID)
			return slices.Contains(done, g.UID) && held != nil && sameGrantee(*held, g)
		})
		if len(fresh.Status.Grantees) == n {
			return nil
		}
		if err := r.Status().Patch(ctx, fresh, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("dropping the records of revoked grantees: %w", err)
		}
		return nil
	})
}

// fateOf decides a grantee's fate from the cache, and confirms with the API server
// before it takes scopes from a client whose M2MClient the cache still holds: the
// cache may not yet show the client id that M2MClient's pass just recorded.
func (r *ResourceServerReconciler) fateOf(ctx context.Context, g v1alpha1.Grantee) (granteeFate, error) {
	var list v1alpha1.M2MClientList
	if err := r.List(ctx, &list, client.MatchingFields{uidIndex: string(g.UID)}); err != nil {
		return keepGrantee, fmt.Errorf("finding the M2MClient of grantee %s: %w", g.UID, err)
	}
	if len(list.Items) == 0 {
		return fateOf(g, nil), nil
	}
	owner := &list.Items[0]
	if fate := fateOf(g, owner); fate == keepGrantee {
		return fate, nil
	}
	fresh := &v1alpha1.M2MClient{}
	if err := r.reader().Get(ctx, client.ObjectKeyFromObject(owner), fresh); client.IgnoreNotFound(err) != nil {
		return keepGrantee, fmt.Errorf("reading M2MClient %s from the API server: %w", client.ObjectKeyFromObject(owner), err)
	} else if err != nil || fresh.UID != g.UID {
		return fateOf(g, nil), nil
	}
	return fateOf(g, fresh), nil
}

// revokeScopes takes this server's scopes from one app client, leaving it the rest;
// with none left its OAuth flows go off. A client already gone is no error.
func (r *ResourceServerReconciler) revokeScopes(ctx context.Context, rs *v1alpha1.ResourceServer, pool, id string) error {
	app, err := r.cognito.AppClient(ctx, pool, id)
	if cognito.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return cognitoFailed("DescribeUserPoolClient", err)
	}
	its, rest := cognito.ScopesOf(rs.Spec.Identifier, app.AllowedOAuthScopes)
	if len(its) == 0 {
		return nil
	}
	if err := r.cognito.SetAppClientScopes(ctx, pool, app, rest); err != nil {
		if cognito.IsNotFound(err) {
			return nil
		}
		return cognitoFailed("UpdateUserPoolClient", err)
	}
	logf.FromContext(ctx).Info("Took the server's scopes from an app client whose M2MClient is gone", "pool", pool, "clientId", id, "scopes", its)
	r.event(rs, v1alpha1.ReasonScopesRevoked, "took %d scopes from app client %s: no M2MClient of another namespace refers to it any more", len(its), id)
	return nil
}

// revokePending finds the app clients a create recorded as pending may have made
// (the recorded name, created at or after the record, claimed by no M2MClient)
// and takes this server's scopes from them.
func (r *ResourceServerReconciler) revokePending(ctx context.Context, rs *v1alpha1.ResourceServer, pool string, g v1alpha1.Grantee) error {
	var all v1alpha1.M2MClientList
	if err := r.List(ctx, &all); err != nil {
		return fmt.Errorf("listing M2MClients for the app clients they claim: %w", err)
	}
	claimed := map[string]bool{}
	for _, o := range all.Items {
		claimed[o.Status.ClientID] = true
	}
	var candidates []string
	err := r.cognito.AppClients(ctx, pool, func(id, name string) (bool, error) {
		if !claimed[id] && cognito.NameHash(name) == g.ClientNameHash {
			candidates = append(candidates, id)
		}
		return true, nil
	})
	if err != nil {
		return cognitoFailed("finding the app client of a create whose M2MClient is gone", err)
	}
	for _, id := range candidates {
		app, err := r.cognito.AppClient(ctx, pool, id)
		if cognito.IsNotFound(err) {
			continue
		}
		if err != nil {
			return cognitoFailed("DescribeUserPoolClient", err)
		}
		if g.Since != nil && aws.ToTime(app.CreationDate).Before(g.Since.Time) {
			continue
		}
		if err := r.revokeScopes(ctx, rs, pool, id); err != nil {
			return err
		}
	}
	return nil
}

// serversOfDeletedClient wakes the other namespaces' servers a deleted M2MClient
// referred to, so that a client it leaves behind loses their scopes at once rather
// than at the servers' next drift check.
func serversOfDeletedClient(_ context.Context, o client.Object) []ctrl.Request {
	c, ok := o.(*v1alpha1.M2MClient)
	if !ok {
		return nil
	}
	var reqs []ctrl.Request
	for _, s := range c.Spec.Scopes {
		if ref := refKey(c.Namespace, s.ResourceServer); ref.Namespace != c.Namespace {
			reqs = append(reqs, ctrl.Request{NamespacedName: ref})
		}
	}
	return reqs
}

// sameGrantee reports whether two records say the same: a record rewritten since it
// was acted on (a new create of the same M2MClient) is not forgotten.
func sameGrantee(a, b v1alpha1.Grantee) bool {
	return a.UID == b.UID && a.ClientID == b.ClientID && a.ClientNameHash == b.ClientNameHash &&
		(a.Since == nil) == (b.Since == nil) && (a.Since == nil || a.Since.Equal(b.Since))
}
