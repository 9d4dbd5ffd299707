package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cognito-m2m/operator/internal/emulator/model"
)

const (
	targetPrefix = "AWSCognitoIdentityProviderService."
	// maxControlBody bounds a control-plane request. Cognito's largest inputs
	// (a client with its URL lists) are far below it.
	maxControlBody = 1 << 20
	amzJSON        = "application/x-amz-json-1.1"
)

// opSpec describes one control-plane operation: its implementation, its
// quota category and whether it changes state (and so is persisted).
type opSpec struct {
	run      operation
	category string
	write    bool
}

// Quota categories, named as in the Cognito quotas table.
const (
	catUserPoolCreate       = "UserPoolCreate"
	catUserPoolRead         = "UserPoolRead"
	catUserPoolUpdate       = "UserPoolUpdate"
	catUserPoolClientRead   = "UserPoolClientRead"
	catUserPoolClientUpdate = "UserPoolClientUpdate"
	catResourceServerRead   = "UserPoolResourceServerRead"
	catResourceServerUpdate = "UserPoolResourceServerUpdate"
)

var operations = map[string]opSpec{
	"CreateUserPool":             {handle(findNothing, (*Emulator).createUserPool), catUserPoolCreate, true},
	"DescribeUserPool":           {handle(findPool, (*Emulator).describeUserPool), catUserPoolRead, false},
	"ListUserPools":              {handle(findNothing, (*Emulator).listUserPools), catUserPoolRead, false},
	"DeleteUserPool":             {handle(findPool, (*Emulator).deleteUserPool), catUserPoolUpdate, true},
	"CreateUserPoolDomain":       {handle(findPool, (*Emulator).createUserPoolDomain), catUserPoolUpdate, true},
	"DescribeUserPoolDomain":     {handle(findNothing, (*Emulator).describeUserPoolDomain), catUserPoolRead, false},
	"DeleteUserPoolDomain":       {handle(findPool, (*Emulator).deleteUserPoolDomain), catUserPoolUpdate, true},
	"CreateResourceServer":       {handle(findPool, (*Emulator).createResourceServer), catResourceServerUpdate, true},
	"DescribeResourceServer":     {handle(findResourceServer, (*Emulator).describeResourceServer), catResourceServerRead, false},
	"UpdateResourceServer":       {handle(findResourceServer, (*Emulator).updateResourceServer), catResourceServerUpdate, true},
	"DeleteResourceServer":       {handle(findResourceServer, (*Emulator).deleteResourceServer), catResourceServerUpdate, true},
	"ListResourceServers":        {handle(findPool, (*Emulator).listResourceServers), catResourceServerRead, false},
	"CreateUserPoolClient":       {handle(findPool, (*Emulator).createUserPoolClient), catUserPoolClientUpdate, true},
	"DescribeUserPoolClient":     {handle(findClient, (*Emulator).describeUserPoolClient), catUserPoolClientRead, false},
	"UpdateUserPoolClient":       {handle(findClient, (*Emulator).updateUserPoolClient), catUserPoolClientUpdate, true},
	"DeleteUserPoolClient":       {handle(findClient, (*Emulator).deleteUserPoolClient), catUserPoolClientUpdate, true},
	"ListUserPoolClients":        {handle(findPool, (*Emulator).listUserPoolClients), catUserPoolClientRead, false},
	"AddUserPoolClientSecret":    {handle(findClient, (*Emulator).addUserPoolClientSecret), catUserPoolClientUpdate, true},
	"ListUserPoolClientSecrets":  {handle(findClient, (*Emulator).listUserPoolClientSecrets), catUserPoolClientRead, false},
	"DeleteUserPoolClientSecret": {handle(findClient, (*Emulator).deleteUserPoolClientSecret), catUserPoolClientUpdate, true},
}

// IsWriteOperation reports whether the named control-plane operation changes
// state. Tests use it to assert that a controller in steady state makes no
// write calls.
func IsWriteOperation(op string) bool { return operations[op].write }

// serveControlPlane answers the awsJson1.1 protocol at POST /.
func (e *Emulator) serveControlPlane(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	var ids struct{ UserPoolId, ClientId string }
	status := http.StatusOK
	var errType string
	defer func() {
		e.log.Info("Handled control-plane call", "operation", op, "userPoolId", ids.UserPoolId,
			"clientId", ids.ClientId, "status", status, "error", errType,
			"duration", time.Since(start).Round(time.Microsecond))
	}()

	out, err := e.controlPlane(w, r, op, &ids)
	w.Header().Set("Content-Type", amzJSON)
	w.Header().Set("X-Amzn-RequestId", newUUID())
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = newErr(errInternal, "internal error")
		}
		if ae.Type == errInternal {
			ae = &apiError{Type: internalErrorType(op), Message: ae.Message}
		}
		status, errType = ae.status(), ae.Type
		if ae.Type == errTooManyRequests {
			e.ctl.countThrottled(op)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		w.Header().Set("X-Amzn-ErrorType", ae.Type)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.Type, "message": ae.Message})
		return
	}
	_, _ = w.Write(out)
}

func (e *Emulator) controlPlane(w http.ResponseWriter, r *http.Request, op string, ids *struct{ UserPoolId, ClientId string }) ([]byte, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, newErr(errMissingAuthentication, "Missing Authentication Token")
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "Credential=") {
		return nil, newErr(errIncompleteSignature, "Authorization header requires a valid AWS4-HMAC-SHA256 signature")
	}
	spec, ok := operations[op]
	if !ok {
		return nil, newErr(errUnknownOperation, "unknown operation %q", op)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		return nil, errors.Join(newErr(errSerialization, "request body too large or unreadable"), err)
	}
	_ = json.Unmarshal(body, ids) // best effort, for logs and per-pool quotas
	e.ctl.count(op)
	if err := e.ctl.admit(r.Context(), op, spec.category, ids.UserPoolId, e.now); err != nil {
		return nil, err
	}
	locked, err := spec.run(op, body)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	res, err := locked(e)
	var out []byte
	if err == nil {
		out, err = json.Marshal(res) // under the lock: res may share slices with the state
	}
	if err == nil && spec.write {
		e.changedLocked()
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if spec.write && e.writeThrough() {
		if err := e.flushNow(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// internalErrorType is the server-fault type the model lists for op: the older
// operations answer InternalErrorException, the secret operations
// InternalServerException.
func internalErrorType(op string) string {
	if o := model.Op(op); o != nil && !slices.Contains(o.Errors, errInternal) && slices.Contains(o.Errors, errInternalServer) {
		return errInternalServer
	}
	return errInternal
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return newErr(errSerialization, "could not parse request body: %v", err)
	}
	return nil
}

// epoch is a timestamp on the wire: seconds since the epoch as a number.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64)), nil
}

// customDomRe is a custom domain's shape: a DNS name. The model's DomainType
// (1-63 characters, no dots) fits prefix domains only, yet Cognito takes
// custom domains such as auth.example.com in the same member; see
// modelExceptions.
var customDomRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$`)

// modelExceptions are the members ("Shape.Member") whose model constraints the
// emulator does not apply as written, because Cognito does not: the Domain of
// the domain operations is a prefix (the model's DomainType) or a custom DNS
// name, and the operations check which.
var modelExceptions = map[string]bool{
	"CreateUserPoolDomainRequest.Domain":   true,
	"DescribeUserPoolDomainRequest.Domain": true,
	"DeleteUserPoolDomainRequest.Domain":   true,
}

// validateInput checks a request against the operation's input shape in AWS's
// model: required members, lengths, patterns, ranges, enums and list sizes.
// Violations are an InvalidParameterException worded as AWS words them; a
// member of the wrong JSON type is a SerializationException.
func validateInput(op string, body []byte) error {
	vs, err := model.ValidateInput(op, body, modelExceptions)
	if err != nil {
		return newErr(errSerialization, "could not parse request body: %v", err)
	}
	if len(vs) > 0 {
		return invalidParam("%s", model.Message(vs))
	}
	return nil
}

// checkShape validates one value against a named model shape, for values that
// reach the emulator other than in a request (start-up flags) or that a
// modelException leaves to the operation.
func checkShape(shape, field string, v any) error {
	vs, err := model.Lookup(shape).Check(v, field)
	if err != nil {
		return newErr(errSerialization, "could not parse request body: %v", err)
	}
	if len(vs) > 0 {
		return invalidParam("%s", model.Message(vs))
	}
	return nil
}

// val is a validated string member; the model's checks ran before the
// operation, so a required member is present.
func val(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

// limit is a page size: the model bounds a given one, def applies otherwise.
func limit(v *int32, def int) int {
	if v == nil {
		return def
	}
	return int(*v)
}
