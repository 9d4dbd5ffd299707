package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/internal/cognito"
)

// shared is what both reconcilers hold while the manager runs: the configuration,
// the dependencies as they use them, and the state they keep together (one
// Cognito client, so that their calls count against the same quotas; the retained
// ledger; the drift period in force).
type shared struct {
	client.Client
	cfg Config
	// clock is the one clock of the reconcilers (Deps.Clock).
	clock    clock.PassiveClock
	recorder events.EventRecorder
	// apiReader reads past the cache, where a stale read would lose track of a
	// rotation or a record.
	apiReader client.Reader
	cognito   *cognito.Client
	retain    *retainer
	// pacer keeps the drift period in force; nil: the configured one.
	pacer *driftPacer
}

// newShared builds what both reconcilers share from the configuration and the
// dependencies; reader reads past c's cache.
func newShared(c client.Client, reader client.Reader, cfg Config, deps Deps, cc *cognito.Client) *shared {
	sh := &shared{Client: c, cfg: cfg, clock: deps.Clock, recorder: deps.Recorder, apiReader: reader, cognito: cc}
	if sh.clock == nil {
		sh.clock = clock.RealClock{}
	}
	sh.retain = &retainer{c: c, reader: reader, limit: cfg.MaxRetainedPerNamespace, ledgerNamespace: cfg.RetainedLedgerNamespace, cognito: cc}
	return sh
}

// now is the clock's time, for the records the reconcilers write.
func (s *shared) now() *metav1.Time { return &metav1.Time{Time: s.clock.Now()} }

// driftPeriod is the drift-check period in force: the configured one, stretched
// when the quota cannot check every object once per period (see driftPacer).
func (s *shared) driftPeriod() time.Duration {
	if s.pacer != nil {
		return s.pacer.current()
	}
	return s.cfg.driftPeriod()
}

// reader reads from the API server, bypassing the cache.
func (s *shared) reader() client.Reader { return s.apiReader }

// event records a Normal event whose reason is also its action, for the steps a
// reconciler took (created, updated, deleted, rotated...).
func (s *shared) event(obj client.Object, reason, format string, args ...any) {
	if s.recorder != nil {
		s.recorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, reason, format, args...)
	}
}
