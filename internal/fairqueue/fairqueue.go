// Package fairqueue is a controller work queue that serves flows in turn: each
// flow (for the operator, a namespace) has its own line, and Get takes the next
// item from the next flow that has one, as Kubernetes' API Priority and Fairness
// serves its queues. In a first-come queue, a namespace that creates 300 objects
// puts another namespace's one object behind all of them, and with Cognito's
// request quotas each object costs a fifth of a second; here it waits for at
// most one item per other busy namespace.
//
// It keeps client-go's work queue contract (an item is never processed twice
// at once, an item added while queued is queued once, an item added while
// processed is queued again when Done) and its delaying and rate-limited adds,
// so that controller-runtime can use it through controller.Options.NewQueue.
// client-go's queue has no hook for the order of Get, hence this one.
package fairqueue

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// Queue is a rate-limiting work queue whose Get serves flows in turn.
type Queue[T comparable] struct {
	flowOf  func(T) string
	limiter workqueue.TypedRateLimiter[T]
	depth   func(int) // told the number of ready items when it changes; may be nil

	mu         sync.Mutex
	cond       *sync.Cond
	lines      map[string][]T // each flow's ready items, first come first
	turns      []string       // the flows with ready items, in turn order
	next       int            // index in turns of the flow served next
	ready      int            // items in lines
	dirty      map[T]bool     // items to process: in lines, or processing and added again
	processing map[T]bool
	timers     map[T]*delayed // items waiting to be added
	shutting   bool
	drain      bool
}

type delayed struct {
	at    time.Time
	timer *time.Timer
}

var _ workqueue.TypedRateLimitingInterface[string] = (*Queue[string])(nil)

// New returns a queue that serves the flows flowOf names in turn; limiter
// times AddRateLimited; depth, if not nil, is told the number of ready items
// each time it changes (for a metric: client-go's queue metrics provider is not
// reachable from outside client-go).
func New[T comparable](flowOf func(T) string, limiter workqueue.TypedRateLimiter[T], depth func(int)) *Queue[T] {
	if depth == nil {
		depth = func(int) {}
	}
	q := &Queue[T]{
		flowOf: flowOf, limiter: limiter, depth: depth,
		lines: map[string][]T{}, dirty: map[T]bool{}, processing: map[T]bool{}, timers: map[T]*delayed{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues item, unless it is queued already.
func (q *Queue[T]) Add(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(item)
}

func (q *Queue[T]) addLocked(item T) {
	if q.shutting || q.dirty[item] {
		return
	}
	q.dirty[item] = true
	if q.processing[item] {
		return // queued again by Done
	}
	q.push(item)
}

func (q *Queue[T]) push(item T) {
	flow := q.flowOf(item)
	if len(q.lines[flow]) == 0 {
		q.turns = append(q.turns, flow)
	}
	q.lines[flow] = append(q.lines[flow], item)
	q.ready++
	q.depth(q.ready)
	q.cond.Signal()
}

// Get blocks until an item is ready and returns the first item of the flow whose
// turn it is; shutdown is true once the queue is shut down and empty.
func (q *Queue[T]) Get() (item T, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.ready == 0 && !q.shutting {
		q.cond.Wait()
	}
	if q.ready == 0 {
		return item, true
	}
	if q.next >= len(q.turns) {
		q.next = 0
	}
	flow := q.turns[q.next]
	line := q.lines[flow]
	item = line[0]
	if len(line) == 1 {
		delete(q.lines, flow)
		q.turns = append(q.turns[:q.next], q.turns[q.next+1:]...) // next is now the following flow
	} else {
		var zero T
		line[0] = zero
		q.lines[flow] = line[1:]
		q.next++
	}
	q.ready--
	q.depth(q.ready)
	q.processing[item] = true
	delete(q.dirty, item)
	return item, false
}

// Done marks item processed; if it was added meanwhile, it is queued again.
func (q *Queue[T]) Done(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, item)
	if q.dirty[item] {
		q.push(item)
	} else if len(q.processing) == 0 {
		q.cond.Broadcast() // a draining ShutDownWithDrain may be waiting
	}
}

// Len is the number of items ready to be processed.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ready
}

// AddAfter adds item after d. Of several delayed adds of one item, the earliest
// is kept, as client-go's delaying queue does, so that requeues do not pile up.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	if d <= 0 {
		q.Add(item)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutting {
		return
	}
	at := time.Now().Add(d)
	if old, ok := q.timers[item]; ok {
		if !old.at.After(at) {
			return
		}
		old.timer.Stop()
	}
	w := &delayed{at: at}
	w.timer = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.timers[item] == w {
			delete(q.timers, item)
		}
		q.addLocked(item)
	})
	q.timers[item] = w
}

// AddRateLimited adds item after its rate limiter says so.
func (q *Queue[T]) AddRateLimited(item T) { q.AddAfter(item, q.limiter.When(item)) }

// Forget tells the rate limiter item is done with retries.
func (q *Queue[T]) Forget(item T) { q.limiter.Forget(item) }

// NumRequeues is how many times item was rate-limited.
func (q *Queue[T]) NumRequeues(item T) int { return q.limiter.NumRequeues(item) }

// ShutDown makes Get return shutdown once the ready items are taken, and drops
// further adds and the delayed ones.
func (q *Queue[T]) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drain = false // a ShutDownWithDrain waiting stops waiting
	q.shutdownLocked()
}

func (q *Queue[T]) shutdownLocked() {
	q.shutting = true
	for item, w := range q.timers {
		w.timer.Stop()
		delete(q.timers, item)
	}
	q.cond.Broadcast()
}

// ShutDownWithDrain shuts down and waits until the items being processed are Done.
func (q *Queue[T]) ShutDownWithDrain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drain = true
	q.shutdownLocked()
	for len(q.processing) > 0 && q.drain {
		q.cond.Wait()
	}
}

// ShuttingDown reports whether ShutDown was called.
func (q *Queue[T]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shutting
}
