package streamspace

import (
	"context"
	"iter"
	"math/rand/v2"
	"net/http/httptrace"
	"sync"
	"time"

	"connectrpc.com/connect"
	v1 "streamspace.dev/sdk/go/gen/streamspace/v1"
)

// SessionEvent is one change, streamed or found by the catch-up after a reconnect.
type SessionEvent struct {
	Session *v1.Session
	Deleted bool
	// Replayed is true for a state found by listing after a reconnect rather than streamed.
	Replayed bool
}

// WatchOptions tunes WatchSessions; the zero value watches every visible session.
type WatchOptions struct {
	// SessionID watches one session; its current state comes first on every (re)connect.
	SessionID string
	// NoCatchUp skips listing after a reconnect (changes during the gap are then not replayed).
	NoCatchUp bool
	// InitialDelay and MaxDelay bound the jittered backoff between reconnects (100 ms, 5 s).
	InitialDelay, MaxDelay time.Duration
	// MaxAttempts gives up after this many failed reconnects in a row (0: never).
	MaxAttempts int
	// OnReconnect is told before each reconnect, with the error that ended the last stream.
	OnReconnect func(attempt int, cause error)
}

// final codes: reconnecting cannot help, the request itself is wrong or not allowed.
var final = map[connect.Code]bool{
	connect.CodeInvalidArgument:    true,
	connect.CodeNotFound:           true,
	connect.CodePermissionDenied:   true,
	connect.CodeFailedPrecondition: true,
	connect.CodeUnimplemented:      true,
	connect.CodeOutOfRange:         true,
}

// WatchSessions yields session changes until ctx is done (the iteration then just ends) or an
// error that reconnecting cannot fix (yielded once, last). A dropped stream is reopened with
// jittered backoff; watching all sessions, the visible ones are listed after the reconnect and
// those that changed meanwhile are yielded with Replayed set. Each session's version grows with
// every transition, so a state already yielded is never yielded again. Deletions during a gap
// are not seen (a listing cannot show what is gone).
func (c *Client) WatchSessions(ctx context.Context, opts WatchOptions) iter.Seq2[SessionEvent, error] {
	initial, maxDelay := opts.InitialDelay, opts.MaxDelay
	if initial <= 0 {
		initial = 100 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = 5 * time.Second
	}
	return func(yield func(SessionEvent, error) bool) {
		seen := map[string]int64{}
		fresh := func(s *v1.Session) bool {
			if last, ok := seen[s.GetId()]; ok && last >= s.GetVersion() {
				return false
			}
			seen[s.GetId()] = s.GetVersion()
			return true
		}
		failures, connectedBefore, reauthenticated := 0, false, false
		var cause error
		for ctx.Err() == nil {
			if connectedBefore || failures > 0 {
				if opts.MaxAttempts > 0 && failures >= opts.MaxAttempts && cause != nil {
					yield(SessionEvent{}, cause)
					return
				}
				if opts.OnReconnect != nil {
					opts.OnReconnect(max(failures, 1), cause)
				}
				if failures > 0 {
					d := min(maxDelay, initial<<(failures-1))
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Duration(rand.Int64N(int64(d) + 1))):
					}
				}
			}
			err := func() error {
				sctx, cancel := context.WithCancel(ctx)
				// The server sends the response headers with the first change, and connect-go
				// returns from the call only then; so the stream is opened in the background,
				// the catch-up listing is sent right after it, and only then is the stream read.
				opened := make(chan openResult, 1)
				written := make(chan struct{})
				var once sync.Once
				markWritten := func() { once.Do(func() { close(written) }) }
				traced := httptrace.WithClientTrace(sctx, &httptrace.ClientTrace{
					WroteRequest: func(httptrace.WroteRequestInfo) { markWritten() },
				})
				go func() {
					s, err := c.Sessions.WatchSessions(traced, connect.NewRequest(&v1.WatchSessionsRequest{SessionId: opts.SessionID}))
					markWritten()
					opened <- openResult{s, err}
				}()
				defer func() {
					cancel()
					if r := <-opened; r.stream != nil {
						r.stream.Close()
					}
				}()
				if connectedBefore && opts.SessionID == "" && !opts.NoCatchUp {
					// List only once the watch request is on the wire, so the server sees it first.
					select {
					case <-written:
					case <-ctx.Done():
						return ctx.Err()
					}
					for s, err := range c.ListSessions(sctx, &v1.ListSessionsRequest{}) {
						if err != nil {
							return err
						}
						if fresh(s) && !yield(SessionEvent{Session: s, Replayed: true}, nil) {
							return errStop
						}
					}
				}
				connectedBefore = true
				var r openResult
				select {
				case r = <-opened:
					opened <- r // for the deferred Close
				case <-ctx.Done():
					return ctx.Err()
				}
				if r.err != nil {
					return r.err
				}
				stream := r.stream
				for stream.Receive() {
					failures, reauthenticated = 0, false
					m := stream.Msg()
					s := m.GetSession()
					if s == nil {
						continue
					}
					if m.GetDeleted() {
						delete(seen, s.GetId())
						if !yield(SessionEvent{Session: s, Deleted: true}, nil) {
							return errStop
						}
					} else if fresh(s) && !yield(SessionEvent{Session: s}, nil) {
						return errStop
					}
				}
				return stream.Err() // nil: the server ended the stream (pod draining)
			}()
			if err == errStop || ctx.Err() != nil {
				return
			}
			if err == nil {
				cause = nil
				continue
			}
			e := AsError(err)
			if final[e.Code] {
				yield(SessionEvent{}, e)
				return
			}
			if e.Code == connect.CodeUnauthenticated {
				sent, _ := c.creds.authorization(ctx)
				if reauthenticated || sent == "" || !c.creds.recover(ctx, sent) {
					yield(SessionEvent{}, e)
					return
				}
				reauthenticated = true
			}
			cause = e
			failures++
		}
	}
}

type openResult struct {
	stream *connect.ServerStreamForClient[v1.WatchSessionsResponse]
	err    error
}

type stopError struct{}

func (stopError) Error() string { return "the consumer stopped iterating" }

var errStop error = stopError{}
