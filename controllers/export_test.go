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

// SetPacerInterval makes the drift pacer recompute the period every d.
func SetPacerInterval(o *Options, d time.Duration) { o.pacerInterval = d }

// DriftPeriod is the drift period in force, as the gauge shows it.
func DriftPeriod() time.Duration {
	return time.Duration(testutil.ToFloat64(driftPeriodGauge) * float64(time.Second))
}
