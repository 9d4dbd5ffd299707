package verify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// The token parser. It is written for this one job rather than built on
// encoding/json because decoding the header into a map and the claims through
// reflection cost as much as a third of the RSA verification itself, and the
// goal is for everything but the signature check to stay under a tenth of it.
// It is stricter than encoding/json: claim names match exactly (encoding/json
// would also take "ISS" for "iss"), a known header parameter or claim may appear
// only once, strings must be valid UTF-8, and values nest at most maxDepth deep.
// FuzzParseClaims checks that whatever it accepts, encoding/json reads the same.

const maxDepth = 32

var b64 = base64.RawURLEncoding.Strict()

// rawToken is a token split into its parts, not yet verified.
type rawToken struct {
	signingInput string // header.claims, as signed
	header       []byte
	claims       []byte
	signature    []byte
}

// split decodes the three base64url parts of a compact JWS.
func split(token string) (rawToken, error) {
	h, rest, ok := strings.Cut(token, ".")
	c, s, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.IndexByte(s, '.') >= 0 || h == "" || c == "" {
		return rawToken{}, errors.New("not three parts")
	}
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(c))+b64.DecodedLen(len(s)))
	var t rawToken
	var err error
	n1, err := b64.Decode(buf, []byte(h))
	if err != nil {
		return rawToken{}, errors.New("header is not base64url")
	}
	t.header = buf[:n1:n1]
	buf = buf[n1:]
	n2, err := b64.Decode(buf, []byte(c))
	if err != nil {
		return rawToken{}, errors.New("claims are not base64url")
	}
	t.claims = buf[:n2:n2]
	buf = buf[n2:]
	n3, err := b64.Decode(buf, []byte(s))
	if err != nil {
		return rawToken{}, errors.New("signature is not base64url")
	}
	t.signature = buf[:n3]
	t.signingInput = token[:len(h)+1+len(c)]
	return t, nil
}

// header holds the header parameters the verifier looks at.
type header struct {
	alg, kid  string
	forbidden string // the first forbidden parameter present
}

func parseHeader(b []byte) (header, error) {
	var h header
	var seenAlg, seenKid bool
	err := parseObject(b, func(s *scanner, key []byte) error {
		switch string(key) {
		case "alg":
			if seenAlg {
				return errors.New("duplicate alg")
			}
			seenAlg = true
			return s.readString(&h.alg)
		case "kid":
			if seenKid {
				return errors.New("duplicate kid")
			}
			seenKid = true
			return s.readString(&h.kid)
		case "jwk", "jku", "x5u", "x5c", "crit":
			if h.forbidden == "" {
				h.forbidden = string(key)
			}
		}
		return s.skipValue(1)
	})
	return h, err
}

// parseClaims decodes the claims of a Cognito token into c. The dates point into
// c.dates, so that decoding them does not allocate.
func parseClaims(b []byte, c *Claims) error {
	var seen uint16
	once := func(bit uint16) error {
		if seen&bit != 0 {
			return errors.New("duplicate claim")
		}
		seen |= bit
		return nil
	}
	return parseObject(b, func(s *scanner, key []byte) error {
		var bit uint16
		switch string(key) {
		case "iss":
			bit = 1 << 0
		case "sub":
			bit = 1 << 1
		case "aud":
			bit = 1 << 2
		case "exp":
			bit = 1 << 3
		case "nbf":
			bit = 1 << 4
		case "iat":
			bit = 1 << 5
		case "jti":
			bit = 1 << 6
		case "client_id":
			bit = 1 << 7
		case "token_use":
			bit = 1 << 8
		case "scope":
			bit = 1 << 9
		case "auth_time":
			bit = 1 << 10
		case "version":
			bit = 1 << 11
		default:
			return s.skipValue(1)
		}
		if err := once(bit); err != nil {
			return err
		}
		switch string(key) {
		case "iss":
			return s.readString(&c.Issuer)
		case "sub":
			return s.readString(&c.Subject)
		case "jti":
			return s.readString(&c.ID)
		case "client_id":
			return s.readString(&c.ClientID)
		case "token_use":
			return s.readString(&c.TokenUse)
		case "scope":
			return s.readString(&c.Scope)
		case "aud":
			return s.readAudience(&c.Audience)
		case "exp":
			return s.readDate(&c.ExpiresAt, &c.dates[0])
		case "nbf":
			return s.readDate(&c.NotBefore, &c.dates[1])
		case "iat":
			return s.readDate(&c.IssuedAt, &c.dates[2])
		case "auth_time":
			return s.readDate(&c.AuthTime, &c.dates[3])
		default: // version
			return s.readInt(&c.Version)
		}
	})
}

type scanner struct {
	b   []byte
	str string // b as a string, when strings are taken from it without copying
	i   int
}

var errSyntax = errors.New("invalid JSON")

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return errSyntax
	}
	s.i++
	return nil
}

// parseObject walks the members of the top-level object in b, calling member
// with the scanner positioned at each value, which member must consume.
func parseObject(b []byte, member func(s *scanner, key []byte) error) error {
	// One copy of the whole object; the values without escapes are substrings of it.
	s := &scanner{b: b, str: string(b)}
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			key, err := s.readKey()
			if err != nil {
				return err
			}
			if err := member(s, key); err != nil {
				return err
			}
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
			if c != ',' {
				return errSyntax
			}
		}
	}
	if s.peek() != 0 || s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

// readKey reads an object member's name and the colon after it. A name without
// escapes is returned in place, without allocating.
func (s *scanner) readKey() ([]byte, error) {
	if s.peek() != '"' {
		return nil, errSyntax
	}
	start := s.i + 1
	if err := s.skipString(); err != nil {
		return nil, err
	}
	raw := s.b[start : s.i-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		var key string
		sub := scanner{b: s.b, i: start - 1}
		if err := sub.readString(&key); err != nil {
			return nil, err
		}
		raw = []byte(key)
	}
	return raw, s.expect(':')
}

// skipString consumes a string, checking it as readString would.
func (s *scanner) skipString() error {
	if s.peek() != '"' {
		return errSyntax
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			if !utf8.Valid(s.b[start:s.i]) {
				return errors.New("invalid UTF-8")
			}
			s.i++
			return nil
		case c < 0x20:
			return errSyntax
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return errSyntax
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				s.i += 2
				if _, ok := s.hex4(); !ok {
					return errSyntax
				}
			default:
				return errSyntax
			}
		default:
			s.i++
		}
	}
	return errSyntax
}

// readString reads a JSON string. null leaves *out unchanged, as encoding/json does.
func (s *scanner) readString(out *string) error {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if s.peek() != '"' {
		return errSyntax
	}
	s.i++
	start := s.i
	// Fast path: no escapes.
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			raw := s.b[start:s.i]
			if !utf8.Valid(raw) {
				return errors.New("invalid UTF-8")
			}
			if s.str != "" {
				*out = s.str[start:s.i]
			} else {
				*out = string(raw)
			}
			s.i++
			return nil
		}
		if c == '\\' {
			return s.readEscaped(start, out)
		}
		if c < 0x20 {
			return errSyntax
		}
		s.i++
	}
	return errSyntax
}

func (s *scanner) readEscaped(start int, out *string) error {
	buf := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return errors.New("invalid UTF-8")
			}
			*out = string(buf)
			s.i++
			return nil
		case c < 0x20:
			return errSyntax
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return errSyntax
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return errSyntax
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by \u low surrogate is one rune;
				// anything else is U+FFFD, as in encoding/json.
				r2 := utf8.RuneError
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					if lo, ok := s.hex4(); ok {
						if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
							r2 = dec
						} else {
							s.i = save
						}
					} else {
						return errSyntax
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return errSyntax
		}
	}
	return errSyntax
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}

func (s *scanner) literal(word string) error {
	if !strings.HasPrefix(string(s.b[s.i:min(len(s.b), s.i+len(word))]), word) {
		return errSyntax
	}
	s.i += len(word)
	return nil
}

// number returns the text of a JSON number.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, errSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, errSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, errSyntax
		}
	}
	return s.b[start:s.i], nil
}

// smallInt reads a number of at most 18 digits with no fraction or exponent
// without allocating; ok is false for any other number.
func smallInt(text []byte) (n int64, ok bool) {
	neg := len(text) > 0 && text[0] == '-'
	digits := text
	if neg {
		digits = text[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// readDate reads a NumericDate the way golang-jwt does: seconds, possibly
// fractional, truncated to jwt.TimePrecision. null leaves *out unchanged.
func (s *scanner) readDate(out **jwt.NumericDate, backing *jwt.NumericDate) error {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	text, err := s.number()
	if err != nil {
		return err
	}
	if n, ok := smallInt(text); ok {
		backing.Time = time.Unix(n, 0).Truncate(jwt.TimePrecision)
		*out = backing
		return nil
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return errors.New("date out of range")
	}
	round, frac := math.Modf(f)
	*out = jwt.NewNumericDate(time.Unix(int64(round), int64(frac*1e9)))
	return nil
}

func (s *scanner) readInt(out *int) error {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	text, err := s.number()
	if err != nil {
		return err
	}
	if n, ok := smallInt(text); ok {
		*out = int(n)
		return nil
	}
	n, err := strconv.ParseInt(string(text), 10, strconv.IntSize)
	if err != nil {
		return errors.New("not an integer")
	}
	*out = int(n)
	return nil
}

// readAudience reads aud: a string or an array of strings.
func (s *scanner) readAudience(out *jwt.ClaimStrings) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
		var a string
		if err := s.readString(&a); err != nil {
			return err
		}
		*out = jwt.ClaimStrings{a}
		return nil
	case '[':
		s.i++
		list := jwt.ClaimStrings{}
		if s.peek() == ']' {
			s.i++
			*out = list
			return nil
		}
		for {
			if s.peek() != '"' {
				return errors.New("aud element is not a string")
			}
			var a string
			if err := s.readString(&a); err != nil {
				return err
			}
			list = append(list, a)
			c := s.peek()
			s.i++
			if c == ']' {
				*out = list
				return nil
			}
			if c != ',' {
				return errSyntax
			}
		}
	}
	return errors.New("aud is not a string or array")
}

// skipValue consumes any JSON value.
func (s *scanner) skipValue(depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deep")
	}
	switch s.peek() {
	case '"':
		return s.skipString()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return nil
		}
		for {
			if _, err := s.readKey(); err != nil {
				return err
			}
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			c := s.peek()
			s.i++
			if c == '}' {
				return nil
			}
			if c != ',' {
				return errSyntax
			}
		}
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			c := s.peek()
			s.i++
			if c == ']' {
				return nil
			}
			if c != ',' {
				return errSyntax
			}
		}
	default:
		_, err := s.number()
		return err
	}
}
