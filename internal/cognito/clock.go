package cognito

import (
	"sync/atomic"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// serverClock is how far Cognito's clock is from this process's, as last
// measured from a response's Date header (the AWS SDK records both times in
// the response metadata). Cognito's timestamps, such as an app client's
// CreationDate, are on its clock; marks the operator records are on its own.
type serverClock struct {
	skew  atomic.Int64 // Cognito's time minus ours, in nanoseconds
	known atomic.Bool
}

// observe records the skew a response shows, if its metadata has the times.
func (s *serverClock) observe(md middleware.Metadata) {
	skew, ok := awsmiddleware.GetAttemptSkew(md)
	if !ok {
		server, ok1 := awsmiddleware.GetServerTime(md)
		at, ok2 := awsmiddleware.GetResponseAt(md)
		if !ok1 || !ok2 {
			return
		}
		skew = server.Sub(at)
	}
	s.skew.Store(int64(skew))
	s.known.Store(true)
}

// CognitoTime turns a time on this process's clock into Cognito's, with the
// skew last measured (none before Cognito first answered a listing). The Date
// header has whole seconds and is read after the response travelled, so the
// result is early by at most a second and the latency, never late: a window
// starting there holds everything Cognito did after t.
func (c *Client) CognitoTime(t time.Time) time.Time {
	if !c.clock.known.Load() {
		return t
	}
	return t.Add(time.Duration(c.clock.skew.Load()))
}
