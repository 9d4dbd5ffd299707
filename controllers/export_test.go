package controllers

import (
	"fmt"

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
