package controllers

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// SecretCreatedMetric reads the secret-creation gauge of one client, for tests.
func SecretCreatedMetric(namespace, name, clientID string) (float64, error) {
	g, err := secretCreated.GetMetricWithLabelValues(namespace, name, clientID)
	if err != nil {
		return 0, fmt.Errorf("no series: %w", err)
	}
	return testutil.ToFloat64(g), nil
}

// SetPacerInterval makes the drift pacers of managers set up from now on
// recompute the period every d, until the test ends.
func SetPacerInterval(t interface{ Cleanup(func()) }, d time.Duration) {
	old := pacerInterval
	pacerInterval = d
	t.Cleanup(func() { pacerInterval = old })
}

// DriftPeriod is the drift period in force, as the gauge shows it.
func DriftPeriod() time.Duration {
	return time.Duration(testutil.ToFloat64(driftPeriodGauge) * float64(time.Second))
}
