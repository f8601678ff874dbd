package streamspace

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"connectrpc.com/connect"
)

// Methods that need no credential: signing in cannot require being signed in.
var anonymous = map[string]bool{
	"/streamspace.v1.AuthService/Login":   true,
	"/streamspace.v1.AuthService/Refresh": true,
}

// isIdempotentRead says whether a procedure may be sent again after it never reached a
// server: reads only; CreateSession twice would be two sessions.
func isIdempotentRead(procedure string) bool {
	method := procedure[strings.LastIndex(procedure, "/")+1:]
	for _, p := range []string{"Get", "List", "WhoAmI"} {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// RetryPolicy bounds the retries of idempotent reads that failed with Unavailable.
type RetryPolicy struct {
	// Attempts in all, the first included; 1 turns retries off (default 3).
	Attempts int
	// InitialDelay doubles per attempt, with full jitter, up to MaxDelay (100 ms, 2 s).
	InitialDelay, MaxDelay time.Duration
}

func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.InitialDelay << (attempt - 1)
	if d > p.MaxDelay || d <= 0 {
		d = p.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// layer is the SDK's one interceptor: it sets the credential, refreshes and repeats a unary
// call once after Unauthenticated, retries reads after Unavailable, and returns *Error.
type layer struct {
	creds *credentials
	retry RetryPolicy
}

var _ connect.Interceptor = (*layer)(nil)

func (l *layer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		procedure := req.Spec().Procedure
		if anonymous[procedure] {
			res, err := next(ctx, req)
			return res, asErrorOrNil(err)
		}
		attempts := 1
		if isIdempotentRead(procedure) {
			attempts = max(1, l.retry.Attempts)
		}
		for attempt := 1; ; attempt++ {
			res, err := l.authorized(ctx, req, next)
			if err == nil || attempt >= attempts || !transient(ctx, err) {
				return res, asErrorOrNil(err)
			}
			select {
			case <-ctx.Done():
				return nil, AsError(err)
			case <-time.After(l.retry.backoff(attempt)):
			}
		}
	}
}

// authorized sends req with the current credential and repeats it once after a refresh.
func (l *layer) authorized(ctx context.Context, req connect.AnyRequest, next connect.UnaryFunc) (connect.AnyResponse, error) {
	sent, err := l.creds.authorization(ctx)
	if err != nil {
		return nil, err
	}
	if sent != "" {
		req.Header().Set("Authorization", sent)
	}
	res, err := next(ctx, req)
	if sent == "" || connect.CodeOf(err) != connect.CodeUnauthenticated || !l.creds.recover(ctx, sent) {
		return res, err
	}
	fresh, ferr := l.creds.authorization(ctx)
	if ferr != nil {
		return nil, err
	}
	req.Header().Set("Authorization", fresh)
	return next(ctx, req)
}

func (l *layer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if anonymous[spec.Procedure] {
			return conn
		}
		sent, err := l.creds.authorization(ctx)
		if err != nil {
			return &failedConn{StreamingClientConn: conn, err: err}
		}
		if sent != "" {
			conn.RequestHeader().Set("Authorization", sent)
		}
		return conn
	}
}

func (l *layer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// transient says whether err means the request never got an answer: Unavailable, or a
// cancellation nobody asked for (connect-go reports a connection reset by the peer as canceled).
func transient(ctx context.Context, err error) bool {
	code := connect.CodeOf(err)
	return code == connect.CodeUnavailable || (code == connect.CodeCanceled && ctx.Err() == nil)
}

// failedConn reports a credential failure (a refused refresh) on the stream's first use.
type failedConn struct {
	connect.StreamingClientConn
	err error
}

func (f *failedConn) Send(any) error    { return f.err }
func (f *failedConn) Receive(any) error { return f.err }

func asErrorOrNil(err error) error {
	if err == nil {
		return nil
	}
	return AsError(err)
}
