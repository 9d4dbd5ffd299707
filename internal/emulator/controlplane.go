package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
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
	fn       func(e *Emulator, body []byte) (any, error)
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
	"CreateUserPool":             {(*Emulator).opCreateUserPool, catUserPoolCreate, true},
	"DescribeUserPool":           {(*Emulator).opDescribeUserPool, catUserPoolRead, false},
	"ListUserPools":              {(*Emulator).opListUserPools, catUserPoolRead, false},
	"DeleteUserPool":             {(*Emulator).opDeleteUserPool, catUserPoolUpdate, true},
	"CreateUserPoolDomain":       {(*Emulator).opCreateUserPoolDomain, catUserPoolUpdate, true},
	"DescribeUserPoolDomain":     {(*Emulator).opDescribeUserPoolDomain, catUserPoolRead, false},
	"DeleteUserPoolDomain":       {(*Emulator).opDeleteUserPoolDomain, catUserPoolUpdate, true},
	"CreateResourceServer":       {(*Emulator).opCreateResourceServer, catResourceServerUpdate, true},
	"DescribeResourceServer":     {(*Emulator).opDescribeResourceServer, catResourceServerRead, false},
	"UpdateResourceServer":       {(*Emulator).opUpdateResourceServer, catResourceServerUpdate, true},
	"DeleteResourceServer":       {(*Emulator).opDeleteResourceServer, catResourceServerUpdate, true},
	"ListResourceServers":        {(*Emulator).opListResourceServers, catResourceServerRead, false},
	"CreateUserPoolClient":       {(*Emulator).opCreateUserPoolClient, catUserPoolClientUpdate, true},
	"DescribeUserPoolClient":     {(*Emulator).opDescribeUserPoolClient, catUserPoolClientRead, false},
	"UpdateUserPoolClient":       {(*Emulator).opUpdateUserPoolClient, catUserPoolClientUpdate, true},
	"DeleteUserPoolClient":       {(*Emulator).opDeleteUserPoolClient, catUserPoolClientUpdate, true},
	"ListUserPoolClients":        {(*Emulator).opListUserPoolClients, catUserPoolClientRead, false},
	"AddUserPoolClientSecret":    {(*Emulator).opAddUserPoolClientSecret, catUserPoolClientUpdate, true},
	"ListUserPoolClientSecrets":  {(*Emulator).opListUserPoolClientSecrets, catUserPoolClientRead, false},
	"DeleteUserPoolClientSecret": {(*Emulator).opDeleteUserPoolClientSecret, catUserPoolClientUpdate, true},
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
	e.mu.Lock()
	res, err := spec.fn(e, body)
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

// Input patterns and lengths from the Cognito API model.
var (
	nameRe        = regexp.MustCompile(`^[\w\s+=,.@-]+$`)
	poolIDRe      = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	clientIDRe    = regexp.MustCompile(`^[\w+]+$`)
	identifierRe  = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
	scopeNameRe   = regexp.MustCompile(`^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+$`)
	scopeRe       = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
	secretRe      = regexp.MustCompile(`^[\w+]+$`)
	prefixDomRe   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	customDomRe   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$`)
	descriptionRe = regexp.MustCompile(`^[\P{Cc}\s]+$`)
)

// str validates a string member: required, length and pattern. field is the
// member's name as AWS spells it in validation messages.
func str(field string, v *string, required bool, minLen, maxLen int, re *regexp.Regexp) (string, error) {
	if v == nil {
		if required {
			return "", missingParam(field)
		}
		return "", nil
	}
	n := len([]rune(*v))
	if n < minLen {
		return "", validationErr(field, *v, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if n > maxLen {
		return "", validationErr(field, *v, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	if re != nil && !re.MatchString(*v) {
		return "", validationErr(field, *v, "Member must satisfy regular expression pattern: "+strings.Trim(re.String(), "^$"))
	}
	return *v, nil
}

func maxResults(field string, v *int32, required bool, max int) (int, error) {
	if v == nil {
		if required {
			return 0, missingParam(field)
		}
		return max, nil
	}
	if *v < 1 || int(*v) > max {
		return 0, validationErr(field, strconv.Itoa(int(*v)), "Member must have value between 1 and "+strconv.Itoa(max))
	}
	return int(*v), nil
}

// poolLocked finds a user pool; the caller holds e.mu.
func (e *Emulator) poolLocked(id *string) (*pool, error) {
	pid, err := str("userPoolId", id, true, 1, 55, poolIDRe)
	if err != nil {
		return nil, err
	}
	p, ok := e.st.Pools[pid]
	if !ok {
		return nil, notFound("User pool %s does not exist.", pid)
	}
	return p, nil
}

func (p *pool) client(id *string) (*appClient, error) {
	cid, err := str("clientId", id, true, 1, 128, clientIDRe)
	if err != nil {
		return nil, err
	}
	c, ok := p.Clients[cid]
	if !ok {
		return nil, notFound("User pool client %s does not exist.", cid)
	}
	return c, nil
}
