package cognito

import (
	"context"
	"testing"
)

// Each operation on each pool has its own limiter; a category's limiter is shared
// by its operations across pools.
func TestLimitersFor(t *testing.T) {
	l := NewLimiter(DefaultLimits())
	describeA := l.limitersFor("DescribeUserPoolClient", "pool-a")
	describeB := l.limitersFor("DescribeUserPoolClient", "pool-b")
	list := l.limitersFor("ListUserPoolClients", "pool-a")
	create := l.limitersFor("CreateUserPoolClient", "pool-a")
	if len(describeA) != 2 || len(create) != 2 {
		t.Fatalf("want a per-operation and a category limiter, got %d and %d", len(describeA), len(create))
	}
	if describeA[0] == describeB[0] || describeA[0] == list[0] {
		t.Error("per-operation limiters are shared between pools or operations")
	}
	if describeA[1] != describeB[1] || describeA[1] != list[1] {
		t.Error("the app-client read category is not one limiter")
	}
	if describeA[1] == create[1] {
		t.Error("reads and writes share a category limiter")
	}
	if got := describeA[0].Limit(); float64(got) != DefaultLimits().PerOperation {
		t.Errorf("per-operation rate %v", got)
	}
	if again := l.limitersFor("DescribeUserPoolClient", "pool-a"); again[0] != describeA[0] {
		t.Error("a second call makes a new limiter")
	}
}

func TestLimiterOffAndCancelled(t *testing.T) {
	var none *Limiter
	if err := none.Wait(context.Background(), "CreateUserPoolClient", "p"); err != nil {
		t.Errorf("a nil limiter waits: %v", err)
	}
	if got := NewLimiter(Limits{}).limitersFor("CreateUserPoolClient", "p"); len(got) != 0 {
		t.Errorf("zero limits give %d limiters", len(got))
	}
	l := NewLimiter(Limits{PerOperation: 0.001})
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Wait(ctx, "CreateUserPoolClient", "p"); err != nil { // the burst
		t.Fatal(err)
	}
	cancel()
	if err := l.Wait(ctx, "CreateUserPoolClient", "p"); err == nil {
		t.Error("a wait with a cancelled context returned no error")
	}
}
