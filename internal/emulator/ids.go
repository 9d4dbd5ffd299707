package emulator

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	mixedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// randomString draws n characters uniformly from alphabet with crypto/rand:
// ids and secrets must not be guessable even in an emulator, because demo
// clusters expose it beyond the test process.
func randomString(alphabet string, n int) string {
	max := big.NewInt(int64(len(alphabet)))
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// newPoolID returns an id shaped like Cognito's: "<region>_<9 alphanumerics>".
func newPoolID(region string) string { return region + "_" + randomString(mixedAlnum, 9) }

// newClientID returns 26 lower-case alphanumerics, like Cognito app client ids.
func newClientID() string { return randomString(lowerAlnum, 26) }

// newClientSecret returns 51 lower-case alphanumerics, like Cognito secrets.
func newClientSecret() string { return randomString(lowerAlnum, 51) }

// newUUID returns a random (version 4) UUID, used for jti and
// request ids.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
