package emulator

import (
	"encoding/json"
	"strings"
)

// ReadyEvent is the value of ReadyLine.Event.
const ReadyEvent = "ready"

// ReadyLine is the one JSON line the cognito-emulator binary prints on
// stdout once it serves, for scripts and for the programs that start it
// (the demo, the end-to-end tests), such as
//
//	{"event":"ready","addr":"127.0.0.1:9229","baseUrl":"http://127.0.0.1:9229","region":"us-east-1","tokenEndpoint":"http://127.0.0.1:9229/oauth2/token","userPoolId":"us-east-1_AbC123xyZ","issuer":"http://127.0.0.1:9229/us-east-1_AbC123xyZ"}
//
// It is defined here, once, so that the binary that writes it and the
// programs that read it cannot disagree.
type ReadyLine struct {
	// Event is always ReadyEvent; it tells the line from log records.
	Event string `json:"event"`
	// Addr is the address the emulator listens on, host:port.
	Addr string `json:"addr"`
	// BaseURL, TokenEndpoint and Issuer are left out when the emulator
	// listens on all interfaces without a base URL, since its URL then
	// comes from each request's Host.
	BaseURL       string `json:"baseUrl,omitempty"`
	Region        string `json:"region"`
	TokenEndpoint string `json:"tokenEndpoint,omitempty"`
	// UserPoolID and Issuer are those of the pool created at start-up, if
	// any; Domain is that pool's prefix domain, if any.
	UserPoolID string `json:"userPoolId,omitempty"`
	Issuer     string `json:"issuer,omitempty"`
	Domain     string `json:"domain,omitempty"`
}

// String returns the line as printed, without the newline.
func (r ReadyLine) String() string {
	r.Event = ReadyEvent
	b, _ := json.Marshal(r) // strings only: cannot fail
	return string(b)
}

// ParseReadyLine reads one line of the emulator's output and reports
// whether it is the ready line. Other lines, such as log records that share
// the stream, give false.
func ParseReadyLine(line string) (ReadyLine, bool) {
	var r ReadyLine
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &r) != nil || r.Event != ReadyEvent {
		return ReadyLine{}, false
	}
	return r, true
}

// FindReadyLine looks for the ready line in output that may hold other
// lines too, such as a log file with the process's stdout and stderr.
func FindReadyLine(output string) (ReadyLine, bool) {
	for line := range strings.Lines(output) {
		if r, ok := ParseReadyLine(line); ok {
			return r, true
		}
	}
	return ReadyLine{}, false
}
