package fairqueue

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

func flowOf(s string) string { f, _, _ := strings.Cut(s, "/"); return f }

func newQueue() *Queue[string] {
	return New(flowOf, workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second), nil)
}

func get(t *testing.T, q *Queue[string]) string {
	t.Helper()
	item, shutdown := q.Get()
	if shutdown {
		t.Fatal("queue shut down")
	}
	q.Done(item)
	return item
}

// 300 items of flow a, then one of b: b's comes second, not 301st; then the
// flows alternate while both have items.
func TestFlowsTakeTurns(t *testing.T) {
	q := newQueue()
	for i := range 300 {
		q.Add(fmt.Sprintf("a/%03d", i))
	}
	q.Add("b/0")
	q.Add("b/1")
	q.Add("c/0")
	want := []string{"a/000", "b/0", "c/0", "a/001", "b/1", "a/002", "a/003"}
	for i, w := range want {
		if got := get(t, q); got != w {
			t.Fatalf("item %d: %s, want %s", i, got, w)
		}
	}
	if n := q.Len(); n != 296 {
		t.Errorf("Len %d, want 296", n)
	}
}

func TestDepthIsReported(t *testing.T) {
	var depth []int
	q := New(flowOf, workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second), func(n int) { depth = append(depth, n) })
	q.Add("a/1")
	q.Add("b/1")
	get(t, q)
	if fmt.Sprint(depth) != "[1 2 1]" {
		t.Errorf("depth reported %v, want [1 2 1]", depth)
	}
}

// An item added while queued is queued once; added while processed, it is
// processed again after Done, never twice at once.
func TestWorkQueueContract(t *testing.T) {
	q := newQueue()
	q.Add("a/x")
	q.Add("a/x")
	if q.Len() != 1 {
		t.Fatalf("Len %d after adding one item twice", q.Len())
	}
	item, _ := q.Get()
	q.Add("a/x") // while processing
	if q.Len() != 0 {
		t.Fatal("an item being processed is ready again before Done")
	}
	q.Done(item)
	if q.Len() != 1 {
		t.Fatal("an item added while processed is not queued again by Done")
	}
	if get(t, q) != "a/x" || q.Len() != 0 {
		t.Fatal("queued more than once")
	}
}

// Of several delayed adds of one item, the earliest wins and it is added once.
func TestAddAfterKeepsEarliest(t *testing.T) {
	q := newQueue()
	q.AddAfter("a/x", time.Hour)
	q.AddAfter("a/x", 50*time.Millisecond)
	q.AddAfter("a/x", 30*time.Minute)
	start := time.Now()
	if get(t, q) != "a/x" {
		t.Fatal("wrong item")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the earliest delayed add came after %s", d)
	}
	q.mu.Lock()
	pending := len(q.timers)
	q.mu.Unlock()
	if pending != 0 {
		t.Errorf("%d delayed adds still pending; the later ones should be dropped", pending)
	}
	q.AddRateLimited("b/y")
	if q.NumRequeues("b/y") != 1 {
		t.Errorf("NumRequeues %d", q.NumRequeues("b/y"))
	}
	if get(t, q) != "b/y" {
		t.Fatal("rate-limited add lost")
	}
	q.Forget("b/y")
	if q.NumRequeues("b/y") != 0 {
		t.Error("Forget did not reset the requeues")
	}
}

func TestShutDown(t *testing.T) {
	q := newQueue()
	q.Add("a/x")
	item, _ := q.Get()
	drained := make(chan struct{})
	go func() { q.ShutDownWithDrain(); close(drained) }()
	select {
	case <-drained:
		t.Fatal("drained with an item still processing")
	case <-time.After(50 * time.Millisecond):
	}
	q.Done(item)
	<-drained
	if _, shutdown := q.Get(); !shutdown {
		t.Error("Get after shutdown did not say so")
	}
	q.Add("a/y")
	q.AddAfter("a/z", time.Millisecond)
	if q.Len() != 0 || !q.ShuttingDown() {
		t.Error("adds after shutdown were queued")
	}
}
