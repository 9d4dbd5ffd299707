package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// checkResult is the outcome of the invariant checks: what was looked at and
// every violation found.
type checkResult struct {
	name       string
	objects    int
	appClients int
	servers    int
	violations []string
}

func (r *checkResult) failf(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

// maxViolationsShown bounds the violations printed; the count is always shown.
const maxViolationsShown = 20

// appClients lists every app client in the pool.
func appClients(ctx context.Context, api *cip.Client, pool string) ([]appClient, error) {
	var out []appClient
	p := cip.NewListUserPoolClientsPaginator(api, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListUserPoolClients: %w", err)
		}
		for _, c := range page.UserPoolClients {
			out = append(out, appClient{id: aws.ToString(c.ClientId), name: aws.ToString(c.ClientName)})
		}
	}
	return out, nil
}

type appClient struct{ id, name string }

func resourceServers(ctx context.Context, api *cip.Client, pool string) (int, error) {
	n := 0
	p := cip.NewListResourceServersPaginator(api, &cip.ListResourceServersInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("ListResourceServers: %w", err)
		}
		n += len(page.ResourceServers)
	}
	return n, nil
}

// checkConverged checks, once every object is Ready: exactly one app client
// per M2MClient (no duplicate, no orphan), and each Secret holding the
// client_id and client_secret Cognito has. The caller pauses the quotas: these
// are the benchmark's calls, not the operator's.
func checkConverged(ctx context.Context, c client.Client, api *cip.Client, pool string, want int) (*checkResult, error) {
	r := &checkResult{name: "converged"}
	var objs v1alpha1.M2MClientList
	if err := c.List(ctx, &objs); err != nil {
		return nil, err
	}
	r.objects = len(objs.Items)
	if r.objects != want {
		r.failf("%d M2MClients exist, want %d", r.objects, want)
	}
	apps, err := appClients(ctx, api, pool)
	if err != nil {
		return nil, err
	}
	r.appClients = len(apps)
	byID := map[string]appClient{}
	names := map[string]int{}
	for _, a := range apps {
		byID[a.id] = a
		names[a.name]++
	}
	claimed := map[string]string{}
	for _, o := range objs.Items {
		key := o.Namespace + "/" + o.Name
		id := o.Status.ClientID
		switch {
		case id == "":
			r.failf("M2MClient %s has no status.clientId", key)
			continue
		case claimed[id] != "":
			r.failf("M2MClients %s and %s share app client %s", claimed[id], key, id)
		}
		claimed[id] = key
		a, ok := byID[id]
		if !ok {
			r.failf("M2MClient %s names app client %s, which Cognito does not have", key, id)
			continue
		}
		if n := names[a.name]; n > 1 {
			r.failf("M2MClient %s: %d app clients are named %q (duplicates)", key, n, a.name)
		}
	}
	for _, a := range apps {
		if claimed[a.id] == "" {
			r.failf("app client %s (%q) belongs to no M2MClient (orphan)", a.id, a.name)
		}
	}
	// Secrets against Cognito.
	var mu sync.Mutex
	err = parallel(ctx, len(objs.Items), 8, func(i int) error {
		o := &objs.Items[i]
		if o.Status.ClientID == "" || byID[o.Status.ClientID].id == "" {
			return nil
		}
		name := o.Status.SecretName
		if name == "" {
			name = o.Spec.Secret.Name
		}
		if name == "" {
			name = o.Name + "-credentials"
		}
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: name}, &s); err != nil {
			mu.Lock()
			r.failf("M2MClient %s/%s: Secret %s: %v", o.Namespace, o.Name, name, err)
			mu.Unlock()
			return nil
		}
		out, err := api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: aws.String(o.Status.ClientID)})
		if err != nil {
			return fmt.Errorf("DescribeUserPoolClient %s: %w", o.Status.ClientID, err)
		}
		mu.Lock()
		defer mu.Unlock()
		// The values are compared, never printed.
		if got := string(s.Data["client_id"]); got != aws.ToString(out.UserPoolClient.ClientId) {
			r.failf("Secret %s/%s: client_id %s, Cognito's is %s", o.Namespace, name, got, aws.ToString(out.UserPoolClient.ClientId))
		}
		if string(s.Data["client_secret"]) != aws.ToString(out.UserPoolClient.ClientSecret) {
			r.failf("Secret %s/%s: client_secret differs from Cognito's", o.Namespace, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.servers, err = resourceServers(ctx, api, pool)
	if err != nil {
		return nil, err
	}
	slices.Sort(r.violations)
	return r, nil
}

// checkEmpty checks that nothing is left in Cognito after every object was deleted.
func checkEmpty(ctx context.Context, api *cip.Client, pool string) (*checkResult, error) {
	r := &checkResult{name: "deleted"}
	apps, err := appClients(ctx, api, pool)
	if err != nil {
		return nil, err
	}
	r.appClients = len(apps)
	for _, a := range apps {
		r.failf("app client %s (%q) is left in Cognito", a.id, a.name)
	}
	r.servers, err = resourceServers(ctx, api, pool)
	if err != nil {
		return nil, err
	}
	if r.servers > 0 {
		r.failf("%d resource servers are left in Cognito", r.servers)
	}
	return r, nil
}
