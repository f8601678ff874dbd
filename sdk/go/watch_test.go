package streamspace_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	streamspace "streamspace.dev/sdk/go"
	v1 "streamspace.dev/sdk/go/gen/streamspace/v1"
)

// watcher runs WatchSessions in the background and keeps what it yields.
type watcher struct {
	mu         sync.Mutex
	events     []streamspace.SessionEvent
	reconnects int
	err        error
	cancel     context.CancelFunc
	done       chan struct{}
}

func watch(c *streamspace.Client, opts streamspace.WatchOptions) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, done: make(chan struct{})}
	opts.MaxDelay = 200 * time.Millisecond
	opts.OnReconnect = func(int, error) { w.mu.Lock(); w.reconnects++; w.mu.Unlock() }
	go func() {
		defer close(w.done)
		for e, err := range c.WatchSessions(ctx, opts) {
			w.mu.Lock()
			if err != nil {
				w.err = err
			} else {
				w.events = append(w.events, e)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *watcher) stop(t *testing.T) {
	w.cancel()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end after its context was cancelled")
	}
	if w.err != nil {
		t.Fatalf("the watch failed: %v", w.err)
	}
	last := map[string]int64{}
	for _, e := range w.events {
		if e.Deleted {
			continue
		}
		if v, ok := last[e.Session.GetId()]; ok && e.Session.GetVersion() <= v {
			t.Fatalf("session %s yielded version %d after %d", e.Session.GetId(), e.Session.GetVersion(), v)
		}
		last[e.Session.GetId()] = e.Session.GetVersion()
	}
}

// find waits until an event matches.
func (w *watcher) find(t *testing.T, what string, match func(streamspace.SessionEvent) bool) streamspace.SessionEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, e := range w.events {
			if match(e) {
				w.mu.Unlock()
				return e
			}
		}
		w.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return streamspace.SessionEvent{}
}

// liveProbe creates short-lived sessions until one's transitions arrive on the stream itself
// (a probe whose few transitions fell into a reconnect is only replayed; the next one tells).
func (w *watcher) liveProbe(t *testing.T, direct *streamspace.Client) {
	t.Helper()
	for range 5 {
		id := create(t, direct)
		streamed := false
		deadline := time.Now().Add(5 * time.Second)
		for !streamed && time.Now().Before(deadline) {
			w.mu.Lock()
			for _, e := range w.events {
				streamed = streamed || (e.Session.GetId() == id && !e.Replayed)
			}
			w.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		stopSession(t, direct, id)
		if streamed {
			return
		}
	}
	t.Fatal("no probe session was streamed in 5 attempts")
}

func create(t *testing.T, c *streamspace.Client) string {
	t.Helper()
	res, err := c.Sessions.CreateSession(context.Background(), connect.NewRequest(&v1.CreateSessionRequest{Template: "demo-desktop"}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.GetSession().GetId()
}

func waitRunning(t *testing.T, c *streamspace.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := c.Sessions.GetSession(context.Background(), connect.NewRequest(&v1.GetSessionRequest{Id: id}))
		if err == nil && res.Msg.GetSession().GetState() == v1.SessionState_SESSION_STATE_RUNNING {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("session %s never ran", id)
}

func stopSession(t *testing.T, c *streamspace.Client, id string) {
	t.Helper()
	if _, err := c.Sessions.StopSession(context.Background(), connect.NewRequest(&v1.StopSessionRequest{Id: id})); err != nil {
		t.Fatal(err)
	}
}

func TestWatchAllSurvivesCutsAndReplaysTheGap(t *testing.T) {
	proxy := startProxy(t, live.Address)
	direct := signedIn(t, live.URL)
	w := watch(signedIn(t, proxy.URL()), streamspace.WatchOptions{})
	defer w.stop(t)

	a := create(t, direct)
	w.find(t, "session A running", func(e streamspace.SessionEvent) bool {
		return e.Session.GetId() == a && e.Session.GetState() == v1.SessionState_SESSION_STATE_RUNNING
	})
	proxy.setPaused(true)
	proxy.cut()
	b := create(t, direct)
	waitRunning(t, direct, b)
	proxy.setPaused(false)
	replayed := w.find(t, "session B replayed", func(e streamspace.SessionEvent) bool {
		return e.Session.GetId() == b && e.Replayed
	})
	if replayed.Session.GetState() != v1.SessionState_SESSION_STATE_RUNNING {
		t.Fatalf("replayed B in state %v", replayed.Session.GetState())
	}
	if proxy.connections() < 2 {
		t.Fatal("the watch did not reconnect")
	}
	// The server answers a watch only with its first change, so nothing tells a client when its
	// new subscription is live; a new session's transitions show it.
	w.liveProbe(t, direct)
	stopSession(t, direct, a)
	w.find(t, "session A stopped, streamed", func(e streamspace.SessionEvent) bool {
		return e.Session.GetId() == a && !e.Replayed && e.Session.GetState() == v1.SessionState_SESSION_STATE_STOPPED
	})
	stopSession(t, direct, b)
}

func TestWatchOneSessionStartsWithItsStateAndResumes(t *testing.T) {
	proxy := startProxy(t, live.Address)
	direct := signedIn(t, live.URL)
	id := create(t, direct)
	waitRunning(t, direct, id)
	w := watch(signedIn(t, proxy.URL(), streamspace.WithProtocol(streamspace.Connect)), streamspace.WatchOptions{SessionID: id})
	defer w.stop(t)
	first := w.find(t, "the current state", func(streamspace.SessionEvent) bool { return true })
	if first.Session.GetId() != id || first.Session.GetState() != v1.SessionState_SESSION_STATE_RUNNING {
		t.Fatalf("first event %v", first.Session)
	}
	before := proxy.connections()
	proxy.cut()
	deadline := time.Now().Add(10 * time.Second)
	for proxy.connections() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stopSession(t, direct, id)
	w.find(t, "the stop", func(e streamspace.SessionEvent) bool {
		return e.Session.GetState() == v1.SessionState_SESSION_STATE_STOPPED
	})
}

func TestWatchEndsOnFinalErrors(t *testing.T) {
	c := signedIn(t, live.URL)
	for id, code := range map[string]connect.Code{
		"not-a-session-id":                     connect.CodeInvalidArgument,
		"00000000-0000-4000-8000-000000000000": connect.CodeNotFound,
	} {
		reconnects := 0
		var got error
		for _, err := range c.WatchSessions(context.Background(), streamspace.WatchOptions{
			SessionID: id, OnReconnect: func(int, error) { reconnects++ },
		}) {
			got = err
		}
		if streamspace.CodeOf(got) != code || reconnects != 0 {
			t.Fatalf("watch %q: want %v without reconnects, got %v after %d", id, code, got, reconnects)
		}
	}
}
