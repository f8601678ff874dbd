package streamspace

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// TokenSet is an access/refresh pair from Login or Refresh with the instants each expires at.
// Access tokens live 15 minutes; refresh tokens are single use (a replayed one revokes every
// token of that sign-in), so the client serialises refreshes.
type TokenSet struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

type refreshFunc func(ctx context.Context, refreshToken string) (*TokenSet, error)

// flight is one refresh in progress; every caller that needs it waits on done.
type flight struct {
	done   chan struct{}
	tokens *TokenSet
	err    error
}

// credentials holds the API key or the token pair and keeps the access token fresh.
type credentials struct {
	mu            sync.Mutex
	apiKey        string
	tokens        *TokenSet
	inFlight      *flight
	refresh       refreshFunc
	refreshBefore time.Duration
	now           func() time.Time
	onTokens      func(*TokenSet)
}

func (c *credentials) useAPIKey(key string) {
	c.mu.Lock()
	c.apiKey, c.tokens = key, nil
	c.mu.Unlock()
	c.notify(nil)
}

func (c *credentials) useTokens(t *TokenSet) {
	c.mu.Lock()
	c.apiKey, c.tokens = "", t
	c.mu.Unlock()
	c.notify(t)
}

func (c *credentials) current() (apiKey string, tokens *TokenSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apiKey, c.tokens
}

func (c *credentials) notify(t *TokenSet) {
	if c.onTokens != nil {
		c.onTokens(t)
	}
}

// authorization is the header value for the next call, refreshing first when the access
// token expires within refreshBefore. Empty when nobody signed in.
func (c *credentials) authorization(ctx context.Context) (string, error) {
	key, t := c.current()
	if key != "" {
		return "Bearer " + key, nil
	}
	if t == nil {
		return "", nil
	}
	if t.AccessExpiresAt.Sub(c.now()) > c.refreshBefore {
		return "Bearer " + t.AccessToken, nil
	}
	next, err := c.refreshFrom(ctx, t)
	if err != nil {
		return "", err
	}
	return "Bearer " + next.AccessToken, nil
}

// recover runs after the server refused `sent`: it refreshes unless another call already did.
// True when repeating the call may succeed.
func (c *credentials) recover(ctx context.Context, sent string) bool {
	key, t := c.current()
	if key != "" || t == nil {
		return false
	}
	if "Bearer "+t.AccessToken != sent {
		return true
	}
	_, err := c.refreshFrom(ctx, t)
	return err == nil
}

func (c *credentials) refreshFrom(ctx context.Context, from *TokenSet) (*TokenSet, error) {
	c.mu.Lock()
	if f := c.inFlight; f != nil {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.tokens, f.err
		case <-ctx.Done():
			return nil, AsError(ctx.Err())
		}
	}
	if !from.RefreshExpiresAt.After(c.now()) {
		c.mu.Unlock()
		return nil, &Error{Code: connect.CodeUnauthenticated,
			Message: "The sign-in has expired (its refresh token is past its expiry); sign in again."}
	}
	f := &flight{done: make(chan struct{})}
	c.inFlight = f
	c.mu.Unlock()

	// The refresh token is spent the moment the server sees it, so one caller's cancellation
	// must not throw away the new pair: the refresh runs on its own deadline.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	f.tokens, f.err = c.refresh(rctx, from.RefreshToken)
	cancel()

	c.mu.Lock()
	c.inFlight = nil
	adopted := f.err == nil && c.tokens == from
	if adopted {
		c.tokens = f.tokens
	}
	c.mu.Unlock()
	close(f.done)
	if adopted {
		c.notify(f.tokens)
	}
	return f.tokens, f.err
}
