package controllers

import (
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// memory is what this manager remembers of each M2MClient between passes: the
// resourceVersion of its Secret as the operator last wrote or checked it (so
// that the watch does not bring back the operator's own writes, and a pass can
// tell an untouched Secret), when it last compared the object with Cognito, and
// whether it has written a create-pending mark for it (so that a create never
// starts from a cached copy older than that mark: see confirmNewest).
// Entries are keyed by the object and dropped when it goes (see reconcilePass),
// so that a long-lived manager holds one entry per live object however many come
// and go; an entry for an earlier object of the same name counts for nothing.
type memory struct {
	mu      sync.Mutex
	objects map[types.NamespacedName]remembered
}

type remembered struct {
	uid           types.UID
	secret        string // the Secret's name
	secretVersion string // its resourceVersion, "" when not written or checked
	checked       time.Time
	marked        bool // a create-pending mark was written (or its write tried)
}

// entry is what is remembered of obj; zero when nothing is. m.mu is held.
func (m *memory) entry(key types.NamespacedName, uid types.UID) remembered {
	if e, ok := m.objects[key]; ok && e.uid == uid {
		return e
	}
	return remembered{uid: uid}
}

// get is what is remembered of obj.
func (m *memory) get(obj *v1alpha1.M2MClient) remembered {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entry(client.ObjectKeyFromObject(obj), obj.UID)
}

// update changes what is remembered of obj.
func (m *memory) update(obj *v1alpha1.M2MClient, change func(*remembered)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := client.ObjectKeyFromObject(obj)
	e := m.entry(key, obj.UID)
	change(&e)
	if m.objects == nil {
		m.objects = map[types.NamespacedName]remembered{}
	}
	m.objects[key] = e
}

// wroteSecret records that obj's Secret secret is at resourceVersion rv, as the
// operator wrote or checked it.
func (m *memory) wroteSecret(obj *v1alpha1.M2MClient, secret, rv string) {
	m.update(obj, func(e *remembered) { e.secret, e.secretVersion = secret, rv })
}

// secretVersion is the resourceVersion of obj's Secret secret as the operator
// last wrote or checked it; false when it has not.
func (m *memory) secretVersion(obj *v1alpha1.M2MClient, secret string) (string, bool) {
	e := m.get(obj)
	return e.secretVersion, e.secret == secret && e.secretVersion != ""
}

// ownWrite reports whether the Secret event s is the echo of the operator's own
// last write or check of it, for the M2MClient that controls it.
func (m *memory) ownWrite(s client.Object) bool {
	owner := metav1.GetControllerOf(s)
	if owner == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entry(types.NamespacedName{Namespace: s.GetNamespace(), Name: owner.Name}, owner.UID)
	return e.secret == s.GetName() && e.secretVersion != "" && e.secretVersion == s.GetResourceVersion()
}

// checked is when obj was last compared with Cognito by this manager; zero when
// it has not been since the manager started.
func (m *memory) checked(obj *v1alpha1.M2MClient) time.Time { return m.get(obj).checked }

// setChecked records when obj was (or counts as) compared with Cognito.
func (m *memory) setChecked(obj *v1alpha1.M2MClient, at time.Time) {
	m.update(obj, func(e *remembered) { e.checked = at })
}

// marked reports whether this manager has written a create-pending mark for obj.
func (m *memory) marked(obj *v1alpha1.M2MClient) bool { return m.get(obj).marked }

// setMarked records that this manager is writing a create-pending mark for obj.
func (m *memory) setMarked(obj *v1alpha1.M2MClient) {
	m.update(obj, func(e *remembered) { e.marked = true })
}

// forget drops what is remembered of the object at key.
func (m *memory) forget(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
}

// len is the number of objects remembered.
func (m *memory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.objects)
}
