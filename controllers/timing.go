package controllers

import (
	"math/rand/v2"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// jittered is period plus up to 10% so that objects created together do not all
// call Cognito in the same second afterwards.
func jittered(period time.Duration) time.Duration {
	return period + time.Duration(rand.Int64N(int64(period)/10+1))
}

// now is the wall-clock time, for marks compared with Cognito's own timestamps (a
// create-pending mark against an app client's creation date).
func now() *metav1.Time { t := metav1.Now(); return &t }
