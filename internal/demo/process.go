package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cognito-m2m/operator/internal/childproc"
)

// process is one child the demo started, with its stdout and stderr in one log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	end  context.CancelFunc // asks it to end: SIGTERM, SIGKILL after its grace
	done chan struct{}      // closed when the process has exited
	err  error              // its exit status, once done is closed
}

// startProcess starts bin with args, extra environment variables on top of the
// demo's own, and output to <logs>/<name>.log. Stopping it gives it grace to
// shut down before it is killed.
func (e *Env) startProcess(name string, grace time.Duration, bin string, args, env []string) (*process, error) {
	logPath := filepath.Join(e.LogDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child holds its own descriptor
	ctx, end := context.WithCancel(context.Background())
	cmd := childproc.Command(ctx, grace, bin, args...)
	cmd.Dir = e.RunDir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	fmt.Fprintf(f, "# %s %s\n", bin, strings.Join(args, " "))
	if err := childproc.Start(cmd); err != nil {
		end()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, end: end, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); end(); close(p.done) }()
	e.procs = append(e.procs, p)
	return p, nil
}

// exited returns an error when the process has stopped, with the end of its log.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); the end of %s:\n%s", p.name, p.err, p.log, tail(p.log, 15))
	default:
		return nil
	}
}

// stop asks the process to shut down, kills it after its grace, and waits
// for it to exit.
func (p *process) stop() {
	p.end()
	<-p.done
}

// waitHTTP polls url until it answers 200, the process exits, or ctx ends.
func waitHTTP(ctx context.Context, p *process, url string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		if err := p.exited(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last: %v); see %s", p.name, context.Cause(ctx), last, p.log)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freeAddrs returns n loopback addresses with distinct ports free at the time
// of the call (each is held until all are found, so no two are the same).
// Another process could take one before ours binds it; the demo's processes
// report that clearly (cannot listen) rather than misbehave.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// tail returns the last n lines of a file, indented, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "    (empty)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// ErrInterrupted marks a step stopped by the caller's context, such as Ctrl-C.
var ErrInterrupted = errors.New("interrupted")
