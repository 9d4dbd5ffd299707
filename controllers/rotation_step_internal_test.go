package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// Every phase of the rotation sequence, decided without a server or a real clock.
func TestDecideRotation(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	grace := 5 * time.Minute
	tests := []struct {
		name     string
		status   v1alpha1.RotationStatus
		request  string
		kept     bool
		now      time.Time
		wantStep rotationStep
		wantWait time.Duration
	}{
		{name: "idle, nothing scheduled", now: t0, wantStep: stepWait, wantWait: idle},
		{name: "idle, next rotation ahead", status: v1alpha1.RotationStatus{NextRotation: at(time.Hour)}, now: t0, wantStep: stepWait, wantWait: time.Hour},
		{name: "idle, rotation due", status: v1alpha1.RotationStatus{NextRotation: at(time.Hour)}, now: t0.Add(time.Hour), wantStep: stepStart},
		{name: "idle, rotation overdue", status: v1alpha1.RotationStatus{NextRotation: at(time.Hour)}, now: t0.Add(48 * time.Hour), wantStep: stepStart},
		{name: "annotation asks for a rotation", request: "1", now: t0, wantStep: stepStart},
		{name: "annotation already acted on", status: v1alpha1.RotationStatus{LastRequest: "1"}, request: "1", now: t0, wantStep: stepWait, wantWait: idle},
		{name: "annotation changed again", status: v1alpha1.RotationStatus{LastRequest: "1", NextRotation: at(time.Hour)}, request: "2", now: t0, wantStep: stepStart},
		{name: "adding resumes", status: v1alpha1.RotationStatus{Phase: v1alpha1.RotationAdding, PhaseSince: at(0)}, now: t0.Add(time.Hour), wantStep: stepAdd},
		{name: "grace, time left", status: v1alpha1.RotationStatus{Phase: v1alpha1.RotationGrace, PhaseSince: at(0)}, kept: true, now: t0.Add(2 * time.Minute), wantStep: stepWait, wantWait: 3 * time.Minute},
		{name: "grace over", status: v1alpha1.RotationStatus{Phase: v1alpha1.RotationGrace, PhaseSince: at(0)}, kept: true, now: t0.Add(grace), wantStep: stepRetire},
		{name: "grace, Secret lost the new value", status: v1alpha1.RotationStatus{Phase: v1alpha1.RotationGrace, PhaseSince: at(0)}, kept: false, now: t0.Add(time.Minute), wantStep: stepAbort},
		{name: "grace ignores a new request", status: v1alpha1.RotationStatus{Phase: v1alpha1.RotationGrace, PhaseSince: at(0), LastRequest: "1"}, request: "2", kept: true, now: t0.Add(time.Minute), wantStep: stepWait, wantWait: 4 * time.Minute},
		{name: "retiring resumes", status: v1alpha1.RotationStatus{Phase: v1alpha1.RotationRetiring, PhaseSince: at(0)}, now: t0, wantStep: stepRetire},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, wait := decideRotation(rotationInput{status: tc.status, grace: grace, request: tc.request, valuesKept: tc.kept, now: tc.now})
			if step != tc.wantStep || wait != tc.wantWait {
				t.Errorf("decideRotation = (%v, %s), want (%v, %s)", step, wait, tc.wantStep, tc.wantWait)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	interval := &v1alpha1.SecretRotation{Interval: &metav1.Duration{Duration: 720 * time.Hour}}

	rot := &v1alpha1.RotationStatus{}
	schedule(rot, interval, &created)
	if rot.CurrentSecretCreated == nil || !rot.CurrentSecretCreated.Time.Equal(created) {
		t.Errorf("current secret created %v, want the app client's %v", rot.CurrentSecretCreated, created)
	}
	if rot.NextRotation == nil || !rot.NextRotation.Time.Equal(created.Add(720*time.Hour)) {
		t.Errorf("next rotation %v, want created + interval", rot.NextRotation)
	}

	rotated := created.Add(100 * time.Hour)
	rot = &v1alpha1.RotationStatus{CurrentSecretCreated: &metav1.Time{Time: rotated}}
	schedule(rot, interval, &created)
	if !rot.NextRotation.Time.Equal(rotated.Add(720 * time.Hour)) {
		t.Errorf("next rotation %v counts from the app client, not the current secret", rot.NextRotation)
	}

	schedule(rot, nil, &created)
	if rot.NextRotation != nil {
		t.Errorf("next rotation %v with no interval in the spec", rot.NextRotation)
	}
}

// A pass reads the object from the API server exactly when a rotation step
// could follow: whenever decideRotation would act, and in every phase.
func TestRotationMayAct(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	tests := []struct {
		name    string
		status  *v1alpha1.RotationStatus
		request string
		want    bool
	}{
		{name: "never rotated, nothing asked", want: false},
		{name: "never rotated, asked", request: "1", want: true},
		{name: "idle, nothing scheduled", status: &v1alpha1.RotationStatus{}, want: false},
		{name: "idle, next rotation ahead", status: &v1alpha1.RotationStatus{NextRotation: at(time.Hour)}, want: false},
		{name: "idle, rotation due", status: &v1alpha1.RotationStatus{NextRotation: at(0)}, want: true},
		{name: "request already acted on", status: &v1alpha1.RotationStatus{LastRequest: "1"}, request: "1", want: false},
		{name: "new request", status: &v1alpha1.RotationStatus{LastRequest: "1"}, request: "2", want: true},
		{name: "adding", status: &v1alpha1.RotationStatus{Phase: v1alpha1.RotationAdding}, want: true},
		{name: "grace", status: &v1alpha1.RotationStatus{Phase: v1alpha1.RotationGrace, PhaseSince: at(0)}, want: true},
		{name: "retiring", status: &v1alpha1.RotationStatus{Phase: v1alpha1.RotationRetiring}, want: true},
	}
	for _, tc := range tests {
		obj := &v1alpha1.M2MClient{}
		obj.Status.Rotation = tc.status
		if tc.request != "" {
			obj.Annotations = map[string]string{v1alpha1.RotateAnnotation: tc.request}
		}
		if got := rotationMayAct(obj, t0); got != tc.want {
			t.Errorf("%s: rotationMayAct = %v, want %v", tc.name, got, tc.want)
		}
		if tc.status == nil {
			continue
		}
		for _, kept := range []bool{true, false} {
			step, _ := decideRotation(rotationInput{status: *tc.status, grace: time.Minute, request: tc.request, valuesKept: kept, now: t0})
			if step != stepWait && !rotationMayAct(obj, t0) {
				t.Errorf("%s: decideRotation takes step %d but rotationMayAct is false", tc.name, step)
			}
		}
	}
}
