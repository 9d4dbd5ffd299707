package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/internal/servicetest"
)

// A long step says it is still running, with its elapsed time, until it is done,
// and not after.
func TestLongStepShowsProgress(t *testing.T) {
	var out servicetest.LogBuffer
	p := NewProgress(&out, 1)
	s := p.Start("Building")
	stop := s.keepAlive(20 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "still running") < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s.Done(nil)
	stop()
	got := out.String()
	if n := strings.Count(got, "still running ("); n < 2 {
		t.Fatalf("%d still-running lines, want at least 2:\n%s", n, got)
	}
	if !strings.HasSuffix(strings.TrimSpace(got), ")") || !strings.Contains(got, "… ok (") {
		t.Errorf("the step's line does not end with ok:\n%s", got)
	}
	after := out.String()
	time.Sleep(60 * time.Millisecond)
	if out.String() != after {
		t.Errorf("still-running lines after the step was done:\n%s", out.String())
	}
}
