package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/internal/emulator/model"
)

// examples are valid values for the model's patterned string shapes, which a
// test cannot make up from a regular expression. pad is a character that may
// be repeated at the end to reach any length.
var examples = map[string]struct{ value, pad string }{
	"ArnType":                            {"arn:aws:iam::123456789012:role/r", "r"},
	"EncryptionKeyArnType":               {"arn:aws:kms:us-east-1:123456789012:key/k", "k"},
	"OptionalArnType":                    {"arn:aws:iam::123456789012:role/r", "r"},
	"ClientIdType":                       {"abc", "a"},
	"ClientNameType":                     {"name", "n"},
	"ClientSecretType":                   {"secret_value_0123456789abcdef", "s"},
	"CustomAttributeNameType":            {"attr", "a"},
	"DomainType":                         {"prefix", "p"},
	"EmailAddressType":                   {"a@example.com", "m"},
	"EmailInviteMessageType":             {"Welcome {username} {####}", " "},
	"EmailVerificationMessageByLinkType": {"Click {##Verify##}", " "},
	"EmailVerificationMessageType":       {"Your code {####}", " "},
	"EmailVerificationSubjectByLinkType": {"Verify", "y"},
	"EmailVerificationSubjectType":       {"Verify", "y"},
	"HexStringType":                      {"0abf", "f"},
	"PaginationKey":                      {"token", "t"},
	"PaginationKeyType":                  {"token", "t"},
	"ProviderNameType":                   {"COGNITO", "O"},
	"RedirectUrlType":                    {"https://example.com/cb", "b"},
	"ResourceServerIdentifierType":       {"https://api.example.com", "m"},
	"ResourceServerNameType":             {"API", "I"},
	"ResourceServerScopeNameType":        {"read", "d"},
	"SESConfigurationSet":                {"set-1", "1"},
	"ScopeType":                          {"api/read", "d"},
	"SmsInviteMessageType":               {"Code {####} for {username}", " "},
	"SmsVerificationMessageType":         {"Code {####}", " "},
	"UserPoolIdType":                     {DefaultRegion + "_abc", "c"},
	"UserPoolNameType":                   {"pool", "l"},
}

// validValue is a value of the shape that breaks none of its constraints; a
// structure gets its required members only.
func validValue(t *testing.T, s *model.Shape) any {
	t.Helper()
	switch s.Type {
	case "structure":
		obj := map[string]any{}
		for _, m := range s.Required {
			obj[m] = validValue(t, s.Field(m))
		}
		return obj
	case "list":
		n := 0
		if s.Min != nil {
			n = int(*s.Min)
		}
		arr := []any{}
		for range n {
			arr = append(arr, validValue(t, model.Lookup(s.Member)))
		}
		return arr
	case "map":
		return map[string]any{}
	case "string":
		if len(s.Enum) > 0 {
			return s.Enum[0]
		}
		v := "x"
		if s.Pattern != "" {
			ex, ok := examples[s.Name]
			if !ok {
				t.Fatalf("no example value for patterned shape %s (%s): add one", s.Name, s.Pattern)
			}
			v = ex.value
		}
		return padTo(t, s, v, max(minOf(s), 1))
	case "integer", "long":
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case "boolean":
		return false
	}
	t.Fatalf("shape %s has type %s, which no input of the served operations has", s.Name, s.Type)
	return nil
}

func minOf(s *model.Shape) int {
	if s.Min == nil {
		return 0
	}
	return int(*s.Min)
}

// padTo lengthens v with the shape's pad character to n characters.
func padTo(t *testing.T, s *model.Shape, v string, n int) string {
	t.Helper()
	pad := "x"
	if ex, ok := examples[s.Name]; ok {
		pad = ex.pad
	}
	if k := n - len([]rune(v)); k > 0 {
		v += strings.Repeat(pad, k/len([]rune(pad)))
	}
	return v
}

// breach is one request member set to break one constraint.
type breach struct {
	path       []any  // JSON path: member names and list indexes
	awsPath    string // the member as AWS names it in messages
	value      any    // the breaking value; deleted when remove is set
	remove     bool
	constraint string // what AWS's message says
}

// breaches lists, for a shape at a path, one breach per constraint of the
// model, recursing into members.
func breaches(t *testing.T, s *model.Shape, path []any, awsPath string) []breach {
	t.Helper()
	var out []breach
	at := func(v any, constraint string) {
		out = append(out, breach{path: slices.Clone(path), awsPath: awsPath, value: v, constraint: constraint})
	}
	switch s.Type {
	case "structure":
		for _, m := range s.MemberNames() {
			p := append(slices.Clone(path), m)
			ap := lowerFirst(m)
			if awsPath != "" {
				ap = awsPath + "." + ap
			}
			if s.IsRequired(m) {
				out = append(out, breach{path: p, awsPath: ap, remove: true, constraint: "Member must not be null"})
			}
			out = append(out, breaches(t, s.Field(m), p, ap)...)
		}
	case "list":
		member := model.Lookup(s.Member)
		valid := validValue(t, member)
		if n := minOf(s); n > 0 {
			at(repeat(valid, n-1), "Member must have length greater than or equal to "+strconv.Itoa(n))
		}
		if s.Max != nil {
			at(repeat(valid, int(*s.Max)+1), "Member must have length less than or equal to "+strconv.FormatInt(*s.Max, 10))
		}
		if len(member.Enum) > 0 {
			at([]any{"NOT_IN_THE_ENUM"}, "Member must satisfy constraint: [Member must satisfy enum value set: [")
			return out
		}
		for _, b := range breaches(t, member, append(slices.Clone(path), 0), awsPath+".1.member") {
			out = append(out, b)
		}
	case "map":
		key, val := model.Lookup(s.Key), model.Lookup(s.Value)
		for _, b := range breaches(t, key, nil, "") {
			if k, ok := b.value.(string); ok {
				at(map[string]any{k: validValue(t, val)}, "Map keys must satisfy constraint: ["+b.constraint)
			}
		}
		for _, b := range breaches(t, val, nil, "") {
			at(map[string]any{"key": b.value}, "Map value must satisfy constraint: ["+b.constraint)
		}
	case "string":
		if len(s.Enum) > 0 {
			at("NOT_IN_THE_ENUM", "Member must satisfy enum value set: [")
			return out
		}
		valid := validValue(t, s).(string)
		if n := minOf(s); n > 0 {
			short := ""
			if n > 1 {
				short = string([]rune(valid)[:n-1])
			}
			at(short, "Member must have length greater than or equal to "+strconv.Itoa(n))
		}
		if s.Max != nil {
			at(padTo(t, s, valid, int(*s.Max)+1), "Member must have length less than or equal to "+strconv.FormatInt(*s.Max, 10))
		}
		if re := s.Regexp(); re != nil {
			// A value of valid length the pattern refuses, if there is one.
			for _, c := range []string{" ", "\x00", "/", "\"", "{", "ä", "\n", "A", "-", "."} {
				v := padTo(t, s, c, max(minOf(s), 1))
				if !re.MatchString(v) {
					at(v, "Member must satisfy regular expression pattern: "+s.Pattern)
					break
				}
			}
		}
	case "integer", "long":
		if s.Min != nil {
			at(*s.Min-1, "Member must have value greater than or equal to "+strconv.FormatInt(*s.Min, 10))
		}
		if s.Max != nil {
			at(*s.Max+1, "Member must have value less than or equal to "+strconv.FormatInt(*s.Max, 10))
		}
	}
	return out
}

func repeat(v any, n int) []any {
	out := []any{}
	for range n {
		out = append(out, v)
	}
	return out
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// set puts v at path in a request built from base, creating valid parents on
// the way (a structure with its required members, a list with one entry).
func set(t *testing.T, req map[string]any, input *model.Shape, b breach) {
	t.Helper()
	var parent any = req
	s := input
	for i, step := range b.path {
		last := i == len(b.path)-1
		switch p := parent.(type) {
		case map[string]any:
			name := step.(string)
			if last {
				if b.remove {
					delete(p, name)
				} else {
					p[name] = b.value
				}
				return
			}
			s = s.Field(name)
			if _, ok := p[name]; !ok || !isContainer(p[name]) {
				p[name] = validContainer(t, s)
			}
			parent = p[name]
		case []any:
			idx := step.(int)
			member := model.Lookup(s.Member)
			for len(p) <= idx {
				p = append(p, validValue(t, member))
			}
			// A list grown here must be stored back in its parent.
			storeList(req, b.path[:i], p)
			if last {
				p[idx] = b.value
				return
			}
			s = member
			if !isContainer(p[idx]) {
				p[idx] = validContainer(t, s)
			}
			parent = p[idx]
		}
	}
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func validContainer(t *testing.T, s *model.Shape) any {
	t.Helper()
	v := validValue(t, s)
	if arr, ok := v.([]any); ok && len(arr) == 0 {
		return []any{validValue(t, model.Lookup(s.Member))}
	}
	return v
}

func storeList(req map[string]any, path []any, list []any) {
	var cur any = req
	for i, step := range path {
		last := i == len(path)-1
		switch p := cur.(type) {
		case map[string]any:
			if last {
				p[step.(string)] = list
				return
			}
			cur = p[step.(string)]
		case []any:
			if last {
				p[step.(int)] = list
				return
			}
			cur = p[step.(int)]
		}
	}
}

// TestEveryModelConstraintIsEnforced sends, for every operation the emulator
// serves, one request per constraint of AWS's model that breaks it (a missing
// required member, a length, a pattern, a range, an enum, a list or map size,
// at any depth), and wants Cognito's answer: InvalidParameterException, one of
// the operation's errors in the model, naming the member and the constraint.
// Each request is a valid one (checked against the model below) with one
// member changed.
func TestEveryModelConstraintIsEnforced(t *testing.T) {
	f := newFixture(t, Options{})
	base := validRequests(f)
	total := 0
	for _, op := range model.Operations() {
		o := model.Op(op)
		if !slices.Contains(o.Errors, errInvalidParameter) {
			t.Errorf("%s: the model does not list %s for it", op, errInvalidParameter)
		}
		input := model.Lookup(o.Input)
		bs := breaches(t, input, nil, "")
		for _, b := range bs {
			if modelExceptions[input.Name+"."+fmt.Sprint(b.path[0])] {
				continue // checked by the operations; see TestDomainMember
			}
			total++
			name := fmt.Sprintf("%s/%s/%s", op, b.awsPath, b.constraint)
			var req map[string]any
			if err := json.Unmarshal(base[op], &req); err != nil {
				t.Fatalf("%s: base request: %v", op, err)
			}
			set(t, req, input, b)
			body, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			status, typ, msg := rawCall(t, f.url, op, body)
			if status != http.StatusBadRequest || typ != errInvalidParameter {
				t.Errorf("%s: %d %s %q, want 400 %s", name, status, typ, msg, errInvalidParameter)
				continue
			}
			want := "at '" + b.awsPath + "' failed to satisfy constraint: " + b.constraint
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message %q does not say %q", name, msg, want)
			}
		}
		// The base request itself is valid.
		if vs, err := model.ValidateInput(op, base[op], modelExceptions); err != nil || len(vs) > 0 {
			t.Errorf("%s: the base request breaks the model: %v %v", op, err, vs)
		}
	}
	t.Logf("%d breaking requests over %d operations", total, len(model.Operations()))
	if total < 300 {
		t.Errorf("only %d breaking requests: the sweep lost constraints", total)
	}
}

// validRequests are valid requests for every served operation against the
// fixture's pool, client and resource server.
func validRequests(f *fixture) map[string][]byte {
	pool, client := f.poolID, *f.client.ClientId
	reqs := map[string]any{
		"CreateUserPool":             map[string]any{"PoolName": "p"},
		"DescribeUserPool":           map[string]any{"UserPoolId": pool},
		"ListUserPools":              map[string]any{"MaxResults": 10},
		"DeleteUserPool":             map[string]any{"UserPoolId": pool},
		"CreateUserPoolDomain":       map[string]any{"UserPoolId": pool, "Domain": "dom"},
		"DescribeUserPoolDomain":     map[string]any{"Domain": "dom"},
		"DeleteUserPoolDomain":       map[string]any{"UserPoolId": pool, "Domain": "dom"},
		"CreateResourceServer":       map[string]any{"UserPoolId": pool, "Identifier": "new", "Name": "New"},
		"DescribeResourceServer":     map[string]any{"UserPoolId": pool, "Identifier": "orders"},
		"UpdateResourceServer":       map[string]any{"UserPoolId": pool, "Identifier": "orders", "Name": "Orders"},
		"DeleteResourceServer":       map[string]any{"UserPoolId": pool, "Identifier": "orders"},
		"ListResourceServers":        map[string]any{"UserPoolId": pool},
		"CreateUserPoolClient":       map[string]any{"UserPoolId": pool, "ClientName": "c"},
		"DescribeUserPoolClient":     map[string]any{"UserPoolId": pool, "ClientId": client},
		"UpdateUserPoolClient":       map[string]any{"UserPoolId": pool, "ClientId": client},
		"DeleteUserPoolClient":       map[string]any{"UserPoolId": pool, "ClientId": client},
		"ListUserPoolClients":        map[string]any{"UserPoolId": pool},
		"AddUserPoolClientSecret":    map[string]any{"UserPoolId": pool, "ClientId": client},
		"ListUserPoolClientSecrets":  map[string]any{"UserPoolId": pool, "ClientId": client},
		"DeleteUserPoolClientSecret": map[string]any{"UserPoolId": pool, "ClientId": client, "ClientSecretId": client + "--1"},
	}
	out := map[string][]byte{}
	for op, r := range reqs {
		b, _ := json.Marshal(r)
		out[op] = b
	}
	return out
}

// rawCall sends one awsJson1.1 request as the SDK would, which lets a test send
// what the SDK's own checks (required members) would stop.
func rawCall(t *testing.T, url, op string, body []byte) (status int, typ, msg string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", amzJSON)
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Type, e.Message
}

// The domain operations' Domain is a prefix, with the model's DomainType bounds,
// or a custom domain, a DNS name the model's DomainType would refuse but Cognito
// takes; the operations check which (modelExceptions).
func TestDomainMember(t *testing.T) {
	f := newFixture(t, Options{})
	other := f.createPool(t, "other")
	for _, tc := range []struct {
		name string
		req  map[string]any
		op   string
		want string // error type; empty for success
		msg  string
	}{
		{"prefix at the model's 63", map[string]any{"UserPoolId": f.poolID, "Domain": strings.Repeat("d", 63)}, "CreateUserPoolDomain", "", ""},
		{"prefix over 63", map[string]any{"UserPoolId": other, "Domain": strings.Repeat("d", 64)}, "CreateUserPoolDomain", errInvalidParameter, "Member must have length less than or equal to 63"},
		{"prefix with a dot", map[string]any{"UserPoolId": other, "Domain": "a.b"}, "CreateUserPoolDomain", errInvalidParameter, "Member must satisfy regular expression pattern"},
		{"custom domain", map[string]any{"UserPoolId": other, "Domain": "auth.example.com",
			"CustomDomainConfig": map[string]any{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}}, "CreateUserPoolDomain", "", ""},
		{"custom domain without certificate ARN", map[string]any{"UserPoolId": other, "Domain": "auth2.example.com",
			"CustomDomainConfig": map[string]any{}}, "CreateUserPoolDomain", errInvalidParameter, "Value null at 'customDomainConfig.certificateArn'"},
		{"missing on create", map[string]any{"UserPoolId": other}, "CreateUserPoolDomain", errInvalidParameter, "Value null at 'domain'"},
		{"missing on describe", map[string]any{}, "DescribeUserPoolDomain", errInvalidParameter, "Value null at 'domain'"},
		{"missing on delete", map[string]any{"UserPoolId": other}, "DeleteUserPoolDomain", errInvalidParameter, "Value null at 'domain'"},
		{"over a DNS name on describe", map[string]any{"Domain": strings.Repeat("d", 254)}, "DescribeUserPoolDomain", errInvalidParameter, "Member must have length between 1 and 253"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(tc.req)
			status, typ, msg := rawCall(t, f.url, tc.op, body)
			if tc.want == "" {
				if status != http.StatusOK {
					t.Fatalf("%d %s %q, want success", status, typ, msg)
				}
				return
			}
			if typ != tc.want || !strings.Contains(msg, tc.msg) {
				t.Errorf("%d %s %q, want %s saying %q", status, typ, msg, tc.want, tc.msg)
			}
		})
	}
}
