package controllers_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/emulator/emulatortest"
)

// skewedEnv is a test environment whose Cognito is an emulator of its own, with
// its clock offset from the manager's.
type skewedEnv struct {
	*testEnv
	sdk *cip.Client
}

func newSkewedEnv(t *testing.T, offset time.Duration) *skewedEnv {
	t.Helper()
	return newEmulatorEnv(t, func() time.Time { return time.Now().Add(offset) })
}

// newEmulatorEnv is a test environment whose Cognito is an emulator of its own,
// on the clock now.
func newEmulatorEnv(t *testing.T, now func() time.Time, opts ...envOption) *skewedEnv {
	t.Helper()
	skewed, pool := emulatortest.NewPool(t, emulator.Options{Now: now}, "skewed", "skewed")
	sdk := emulatortest.SDK(skewed, emulatortest.NoRetries)
	e := newEnv(t, append([]envOption{func(e *testEnv) {
		e.pool, e.api = pool, &hookedAPI{API: sdk}
		e.deps.Cognito, e.cfg.DefaultUserPoolID = e.api, pool
		e.cfg.TokenEndpoint, e.cfg.IssuerBase = skewed.TokenURL(), skewed.BaseURL()
	}}, opts...)...)
	return &skewedEnv{testEnv: e, sdk: sdk}
}

// restart starts a new manager against the skewed Cognito.
func (e *skewedEnv) restart() {
	e.api = &hookedAPI{API: e.sdk}
	e.deps.Cognito = e.api
	e.start()
}

func (e *skewedEnv) clientsNamed(t *testing.T, name string) []string {
	t.Helper()
	var ids []string
	p := cip.NewListUserPoolClientsPaginator(e.sdk, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(e.pool), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.UserPoolClients {
			if aws.ToString(c.ClientName) == name {
				ids = append(ids, aws.ToString(c.ClientId))
			}
		}
	}
	return ids
}

// Crash recovery compares Cognito's CreationDate with the create-pending mark,
// which is on the manager's clock. With the manager 5 minutes ahead of Cognito,
// the client its interrupted create made looked older than the mark and a second
// one was created; with it 5 minutes behind, either way, recovery adopts exactly
// the one client it made.
func TestCrashRecoveryWithClockSkew(t *testing.T) {
	for name, offset := range map[string]time.Duration{"manager ahead": -5 * time.Minute, "manager behind": 5 * time.Minute} {
		t.Run(name, func(t *testing.T) {
			e := newSkewedEnv(t, offset)
			readyPair(t, e.testEnv)
			e.killOn("CreateUserPoolClient", false)
			c := newClient(e.ns, "skewed", "weather", "read")
			mustCreate(t, c)
			e.waitKilled()
			e.restart()
			waitReady(t, c)
			ids := e.clientsNamed(t, e.ns+"-skewed")
			if len(ids) != 1 || ids[0] != c.Status.ClientID {
				t.Fatalf("after restart: clients %v, status id %s; want exactly the one recorded", ids, c.Status.ClientID)
			}
			if n := e.api.counts()["CreateUserPoolClient"]; n != 0 {
				t.Errorf("restarted manager created %d more app clients", n)
			}
		})
	}
}

// An app client made by someone else before the mark, with the very name and
// settings the operator sends, is not the operator's to adopt: with the manager 5
// minutes behind Cognito it looked newer than the mark and was taken.
func TestCrashRecoveryWithClockSkewTakesNoOtherClient(t *testing.T) {
	for name, offset := range map[string]time.Duration{"manager ahead": -5 * time.Minute, "manager behind": 5 * time.Minute} {
		t.Run(name, func(t *testing.T) {
			e := newSkewedEnv(t, offset)
			rs := readyPair(t, e.testEnv)
			foreign, err := e.sdk.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{
				UserPoolId: aws.String(e.pool), ClientName: aws.String(e.ns + "-other"), GenerateSecret: true,
				AllowedOAuthFlows:               []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
				AllowedOAuthFlowsUserPoolClient: true,
				AllowedOAuthScopes:              []string{rs.Spec.Identifier + "/read"},
				ExplicitAuthFlows:               []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
				AccessTokenValidity:             aws.Int32(3600),
				TokenValidityUnits:              &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeSeconds},
				EnableTokenRevocation:           aws.Bool(true),
			})
			if err != nil {
				t.Fatal(err)
			}
			foreignID := aws.ToString(foreign.UserPoolClient.ClientId)
			// The manager records its mark and stops before it creates anything.
			// Recovery's window opens up to about 2s before the mark: the mark is
			// kept in whole seconds, and the skew is measured from a Date header
			// in whole seconds after the answer's latency, all rounded so as never
			// to miss the operator's own client. The other client is older than
			// that, with room for a slow machine.
			time.Sleep(3500 * time.Millisecond)
			e.killOn("CreateUserPoolClient", true)
			c := newClient(e.ns, "other", "weather", "read")
			mustCreate(t, c)
			e.waitKilled()
			e.restart()
			waitReady(t, c)
			if c.Status.ClientID == foreignID {
				t.Fatalf("recovery took app client %s, made by someone else before the mark", foreignID)
			}
			ids := e.clientsNamed(t, e.ns+"-other")
			if len(ids) != 2 || !contains(ids, foreignID) || !contains(ids, c.Status.ClientID) {
				t.Errorf("clients named %s-other: %v; want the other's %s, untouched, and the operator's %s", e.ns, ids, foreignID, c.Status.ClientID)
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
