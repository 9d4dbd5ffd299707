package emulator

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// The state file is written behind the changes: many changes make one
// write, a clean stop writes what is pending, and a negative interval
// writes before each answer.
func TestStateFileWriteBehind(t *testing.T) {
	ctx := context.Background()
	contains := func(path, s string) bool {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(s))
	}
	createClients := func(f *fixture, n int) []string {
		t.Helper()
		var ids []string
		for i := range n {
			out, err := f.sdk.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &f.poolID, ClientName: aws.String(fmt.Sprint("c", i))})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, *out.UserPoolClient.ClientId)
		}
		return ids
	}
	reload := func(path string) *Emulator {
		t.Helper()
		e, err := New(Options{StateFile: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close() })
		return e
	}

	t.Run("coalesced until the interval, written by Close", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		f := newFixture(t, Options{StateFile: path, StateFlushInterval: time.Hour})
		if err := f.emu.Flush(); err != nil { // the fixture's own changes
			t.Fatal(err)
		}
		before, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		ids := createClients(f, 5)
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !after.ModTime().Equal(before.ModTime()) || contains(path, ids[0]) {
			t.Fatal("the state file was written before the interval ended")
		}
		if err := f.emu.Close(); err != nil {
			t.Fatal(err)
		}
		e := reload(path)
		for _, id := range ids {
			if _, err := e.clientForTest(f.poolID, id); err != nil {
				t.Errorf("after Close and reload: %v", err)
			}
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("state directory holds %d entries, want only the state file", len(entries))
		}
	})

	t.Run("written within the interval", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		f := newFixture(t, Options{StateFile: path, StateFlushInterval: 20 * time.Millisecond})
		ids := createClients(f, 3)
		deadline := time.Now().Add(5 * time.Second)
		for !contains(path, ids[2]) {
			if time.Now().After(deadline) {
				t.Fatal("change not written within 5s with a 20ms interval")
			}
			time.Sleep(5 * time.Millisecond)
		}
		e := reload(path) // the first emulator is still running: no Close
		for _, id := range ids {
			if _, err := e.clientForTest(f.poolID, id); err != nil {
				t.Errorf("after the interval: %v", err)
			}
		}
	})

	t.Run("write-through with a negative interval", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		f := newFixture(t, Options{StateFile: path, StateFlushInterval: -1})
		for _, id := range createClients(f, 3) {
			if !contains(path, id) {
				t.Errorf("client %s not in the state file when its creation was answered", id)
			}
		}
	})

	t.Run("failed writes are retried and reported by Close", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "state.json")
		e, err := New(Options{StateFile: path, StateFlushInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		// With its directory gone, the file cannot be written, whoever we are.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := e.EnsureUserPool("p", ""); err == nil {
			t.Error("EnsureUserPool succeeded although the state file cannot be written")
		}
		time.Sleep(50 * time.Millisecond) // the background writer fails a few times
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for b, _ := os.ReadFile(path); !bytes.Contains(b, []byte(`"name": "p"`)); b, _ = os.ReadFile(path) {
			if time.Now().After(deadline) {
				t.Fatal("the background writer did not retry the failed write within 5s")
			}
			time.Sleep(5 * time.Millisecond)
		}

		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RotateSigningKey(); err == nil {
			t.Error("RotateSigningKey succeeded although the state file cannot be written")
		}
		if err := e.Close(); err == nil {
			t.Error("Close succeeded although the state file cannot be written")
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("Close once the directory is back: %v", err)
		}
		if !contains(path, e.SigningKeyIDs()[0]) {
			t.Error("the change that failed to be written was lost")
		}
	})
}

// clientForTest finds a client by pool and id.
func (e *Emulator) clientForTest(poolID, clientID string) (*appClient, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.findLocked(findClient, ref{UserPoolId: &poolID, ClientId: &clientID})
	return t.client, err
}

// callLocked runs a control-plane operation on a request body as a request
// would, without the quotas; the caller holds e.mu.
func (e *Emulator) callLocked(op string, body []byte) (any, error) {
	locked, err := operations[op].run(op, body)
	if err != nil {
		return nil, err
	}
	return locked(e)
}

// BenchmarkCreateUserPoolClient measures CreateUserPoolClient through the
// SDK over HTTP, side by side: state in memory, a state file written
// behind (the default), and a state file written before each answer. The
// pool starts with 1,000 clients, so each whole-state write has the size
// it has at the scale the operator is tested at.
func BenchmarkCreateUserPoolClient(b *testing.B) {
	for _, bc := range []struct {
		name     string
		file     bool
		interval time.Duration
	}{
		{"memory", false, 0},
		{"state-file", true, 0},
		{"state-file-write-through", true, -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{StateFlushInterval: bc.interval}
			if bc.file {
				opts.StateFile = filepath.Join(b.TempDir(), "state.json")
			}
			emu, url := newServer(b, opts)
			sdk := newSDK(b, url)
			ctx := context.Background()
			fillPool(b, emu, 1000)
			var pool string
			newPool := func() {
				if pool != "" {
					if _, err := sdk.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &pool}); err != nil {
						b.Fatal(err)
					}
				}
				out, err := sdk.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("bench")})
				if err != nil {
					b.Fatal(err)
				}
				pool = *out.UserPool.Id
			}
			newPool()
			in := &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("bench"), GenerateSecret: true}
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%maxClientsPerPool == 0 {
					b.StopTimer()
					newPool()
					b.StartTimer()
				}
				if _, err := sdk.CreateUserPoolClient(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fillPool creates a pool with n clients directly, without requests.
func fillPool(tb testing.TB, e *Emulator, n int) {
	tb.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.createPool(createUserPoolInput{PoolName: aws.String("full")}, "")
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		body := fmt.Appendf(nil, `{"UserPoolId":%q,"ClientName":"filler-%d","GenerateSecret":true}`, p.ID, i)
		if _, err := e.callLocked("CreateUserPoolClient", body); err != nil {
			tb.Fatal(err)
		}
	}
	e.changedLocked()
}

// clone must share nothing with the original, also for fields added later:
// the background writer encodes the copy while requests change the
// original. Every reference-typed field is set here, so that the check
// covers it.
func TestStateCloneSharesNothing(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.RotateSigningKey(); err != nil { // a retired key too
		t.Fatal(err)
	}
	e.mu.Lock()
	res, err := e.callLocked("CreateUserPool", []byte(`{"PoolName":"p","UserPoolTags":{"team":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	poolID := res.(map[string]any)["UserPool"].(userPoolOut).Id
	for _, body := range []string{
		`{"UserPoolId":"` + poolID + `","Identifier":"orders","Name":"Orders","Scopes":[{"ScopeName":"read","ScopeDescription":"Read"}]}`,
		`{"UserPoolId":"` + poolID + `","ClientName":"full","GenerateSecret":true,
		  "AccessTokenValidity":10,"IdTokenValidity":10,"RefreshTokenValidity":2,
		  "TokenValidityUnits":{"AccessToken":"minutes","IdToken":"minutes","RefreshToken":"days"},
		  "AllowedOAuthFlows":["code"],"AllowedOAuthFlowsUserPoolClient":true,"AllowedOAuthScopes":["openid","orders/read"],
		  "CallbackURLs":["https://a.example"],"LogoutURLs":["https://a.example/out"],"DefaultRedirectURI":"https://a.example",
		  "ExplicitAuthFlows":["ALLOW_REFRESH_TOKEN_AUTH"],"SupportedIdentityProviders":["COGNITO"],
		  "ReadAttributes":["email"],"WriteAttributes":["email"],"PreventUserExistenceErrors":"ENABLED",
		  "EnableTokenRevocation":true,"EnablePropagateAdditionalUserContextData":false,"AuthSessionValidity":5,
		  "AnalyticsConfiguration":{"ApplicationId":"0a1b"},"RefreshTokenRotation":{"Feature":"DISABLED"}}`,
	} {
		op := "CreateResourceServer"
		if strings.Contains(body, "ClientName") {
			op = "CreateUserPoolClient"
		}
		if _, err := e.callLocked(op, []byte(body)); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
	}
	st := e.st
	e.mu.Unlock()
	retired := time.Now()
	st.Keys[0].RetiredAt = &retired // only the retired key has one: give both

	c := st.clone()
	want, err := encodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := encodeState(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("the copy encodes differently:\n%s\nwant\n%s", got, want)
	}
	checkNoAlias(t, "state", reflect.ValueOf(st), reflect.ValueOf(c))
}

// checkNoAlias walks a and b, values of the same type, and fails for each
// exported pointer, slice or map they share, and for each one that is
// empty in a (so not covered by the check).
func checkNoAlias(t *testing.T, path string, a, b reflect.Value) {
	switch a.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if a.IsNil() || a.Kind() != reflect.Pointer && a.Len() == 0 {
			t.Errorf("%s is empty in the test state: set it so that the check covers it", path)
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the state and its copy", path)
		}
	}
	switch a.Kind() {
	case reflect.Pointer:
		checkNoAlias(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Type().Elem().Kind() == reflect.Uint8 { // bytes: nothing inside
			return
		}
		for i := range a.Len() {
			checkNoAlias(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		for _, k := range a.MapKeys() {
			checkNoAlias(t, fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), b.MapIndex(k))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.IsExported() {
				checkNoAlias(t, path+"."+f.Name, a.Field(i), b.Field(i))
			}
		}
	}
}
