// Command demo is `make demo`: it runs the whole system on this machine, offline,
// with no AWS account and no Docker, and shows the project's story end to end
// (see package internal/demo for the steps). It needs Go and the etcd,
// kube-apiserver and kubectl that `make tools` builds into bin/.
//
//	go run ./cmd/demo          # run the story, clean up, exit 0 on success
//	go run ./cmd/demo --keep   # then keep everything running until Ctrl-C
//
// Each process logs to a file in a run directory whose path is printed; after a
// failure the logs are kept there. Ctrl-C stops and removes everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/demo"
)

func main() {
	keep := flag.Bool("keep", false, "keep everything running for exploration until Ctrl-C, printing the kubeconfig and the URLs")
	tools := flag.String("tools-dir", "", "directory of etcd, kube-apiserver and kubectl (default $KUBEBUILDER_ASSETS, else bin/)")
	stepTimeout := flag.Duration("step-timeout", 2*time.Minute, "bound on each step that waits")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected argument %q: all settings are flags\n", flag.Arg(0))
		os.Exit(2)
	}
	// Ctrl-C, a kill and a closed terminal all lead to the same clean-up; a closed
	// pipe on stdout (demo | head) must not kill the demo before it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(ctx, *keep, demo.Options{ToolsDir: *tools, StepTimeout: *stepTimeout}))
}

func run(ctx context.Context, keep bool, opts demo.Options) (code int) {
	env, err := demo.New(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	p := env.Progress()
	p.Printf("%s\n", p.Bold("Cognito M2M operator demo: a local control plane, the Cognito emulator, the operator, weather and a BFF"))
	p.Printf("Run directory %s (logs in %s)\n\n", env.RunDir, env.LogDir)
	defer func() {
		p.Printf("\nCleaning up: stopping the services, the operator, the emulator and the control plane… ")
		if err := env.Close(); err != nil {
			p.Printf("%s: %v\n", p.Red("incomplete"), err)
			code = max(code, 1)
		} else {
			p.Printf("done\n")
		}
		if env.Failed() {
			p.Printf("The logs of every process are kept in %s\n", env.LogDir)
		}
	}()

	err = env.Up(ctx)
	if err == nil {
		_, err = env.Forecast(ctx)
	}
	if err == nil {
		_, _, err = env.Unauthenticated(ctx)
	}
	if err == nil {
		_, err = env.CognitoCalls(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			p.Printf("\n%s\n", p.Red("Interrupted."))
			return 130
		}
		var se *demo.StepError
		if errors.As(err, &se) {
			p.Printf("\n%s step %d/%d failed: %s\n", p.Red("Demo failed:"), se.Step, demo.Steps, se.Title)
		} else {
			p.Printf("\n%s %v\n", p.Red("Demo failed:"), err)
		}
		return 1
	}
	p.Printf("\n%s The operator created the app client in Cognito and wrote its credentials to a Secret; the BFF used them to call weather.\n", p.Green("Demo passed."))
	if keep {
		explore(ctx, env)
	}
	return 0
}

// syncEvery is how often --keep refreshes the mounted Secret; the kubelet's
// default is about a minute.
const syncEvery = 10 * time.Second

// explore prints how to look around, and waits for Ctrl-C.
func explore(ctx context.Context, env *demo.Env) {
	p := env.Progress()
	kubectl, _ := filepath.Abs(env.Kubectl)
	p.Printf(`
Everything keeps running. In another shell:

  export KUBECONFIG=%s
  %s get resourceservers,m2mclients -o wide
  %s describe m2mclient %s
  %s get secret %s -o jsonpath='{.data.client_id}' | base64 -d
  %s annotate m2mclient %s %s="$(date +%%s)"   # rotate the client secret
  curl -s %s/weatherforecast
  curl -si %s/weatherforecast
  %s | grep ^cognito_m2m

  API server      %s
  Cognito         %s (user pool %s)
  Token endpoint  %s
  Operator        %s
  Weather         %s
  BFF             %s
  Secret mounted  %s
  Logs            %s

The mounted Secret is refreshed every %s, as the kubelet would, so a rotation reaches the BFF.
Press Ctrl-C to stop everything and clean up.
`, env.Kubeconfig, kubectl, kubectl, demo.M2MClientName, kubectl, demo.SecretName, kubectl, demo.M2MClientName, v1alpha1.RotateAnnotation,
		env.BFFURL, env.WeatherURL, env.MetricsCommand(kubectl),
		env.APIServerURL, env.EmulatorURL, env.UserPoolID, env.TokenEndpoint, env.OperatorMetricsURL,
		env.WeatherURL, env.BFFURL, env.CredentialsDir, env.LogDir, syncEvery)
	env.SyncSecret(ctx, syncEvery)
}
