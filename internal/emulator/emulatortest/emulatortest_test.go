package emulatortest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/emulator/emulatortest"
)

// The server serves the real SDK at the returned URL, and at the end of
// the test the emulator is closed, which writes the pending state.
func TestNewServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	var poolID string
	t.Run("serve", func(t *testing.T) {
		emu, url := emulatortest.NewServer(t, emulator.Options{StateFile: path, StateFlushInterval: time.Hour})
		if emu.BaseURL() != url {
			t.Errorf("base URL %q, want the server's %q", emu.BaseURL(), url)
		}
		out, err := emulatortest.SDK(emu).CreateUserPool(context.Background(), &cip.CreateUserPoolInput{PoolName: aws.String("p")})
		if err != nil {
			t.Fatal(err)
		}
		poolID = *out.UserPool.Id
	})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(poolID)) {
		t.Errorf("pool %s not in the state file after the test ended", poolID)
	}
}

// NewPool's pool is in the emulator, and SDK's client reaches it there.
func TestNewPoolAndSDK(t *testing.T) {
	emu, pool := emulatortest.NewPool(t, emulator.Options{}, "p", "p-domain")
	out, err := emulatortest.SDK(emu, emulatortest.NoRetries).DescribeUserPool(context.Background(),
		&cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.UserPool.Name); got != "p" {
		t.Errorf("pool name %q, want p", got)
	}
	if got := aws.ToString(out.UserPool.Domain); got != "p-domain" {
		t.Errorf("pool domain %q, want p-domain", got)
	}
}
