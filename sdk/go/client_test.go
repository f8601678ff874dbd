package streamspace_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	streamspace "streamspace.dev/sdk/go"
	v1 "streamspace.dev/sdk/go/gen/streamspace/v1"
)

func signedIn(t *testing.T, base string, opts ...streamspace.Option) *streamspace.Client {
	t.Helper()
	c, err := streamspace.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(context.Background(), live.Username, live.Password); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, code connect.Code, message string) {
	t.Helper()
	var e *streamspace.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *streamspace.Error %v, got %T %v", code, err, err)
	}
	if e.Code != code || !strings.Contains(e.Message, message) {
		t.Fatalf("want %v containing %q, got %v %q", code, message, e.Code, e.Message)
	}
}

func TestProtocols(t *testing.T) {
	ctx := context.Background()
	for _, p := range []streamspace.Protocol{streamspace.GRPC, streamspace.GRPCWeb, streamspace.Connect} {
		t.Run(string(p), func(t *testing.T) {
			c := signedIn(t, live.URL, streamspace.WithProtocol(p))
			me, err := c.Auth.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
			if err != nil || me.Msg.GetUser().GetUsername() != "admin" {
				t.Fatalf("WhoAmI: %v %v", me, err)
			}
			found := false
			for tpl, err := range c.ListTemplates(ctx, 0) {
				if err != nil {
					t.Fatal(err)
				}
				found = found || tpl.GetName() == "demo-desktop"
			}
			if !found {
				t.Fatal("demo-desktop not listed")
			}
			created, err := c.Sessions.CreateSession(ctx, connect.NewRequest(&v1.CreateSessionRequest{Template: "demo-desktop"}))
			if err != nil {
				t.Fatal(err)
			}
			id := created.Msg.GetSession().GetId()
			got, err := c.Sessions.GetSession(ctx, connect.NewRequest(&v1.GetSessionRequest{Id: id}))
			if err != nil || got.Msg.GetSession().GetId() != id {
				t.Fatalf("GetSession: %v", err)
			}
			if _, err := c.Sessions.StopSession(ctx, connect.NewRequest(&v1.StopSessionRequest{Id: id})); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestErrorsAreTyped(t *testing.T) {
	ctx := context.Background()
	c, _ := streamspace.New(live.URL)
	_, err := c.SignIn(ctx, live.Username, "not-the-password")
	wantCode(t, err, connect.CodeUnauthenticated, "password")
	_, err = c.Sessions.ListSessions(ctx, connect.NewRequest(&v1.ListSessionsRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated, "Sign in first")
	c = signedIn(t, live.URL)
	missing := "00000000-0000-4000-8000-000000000000"
	_, err = c.Sessions.GetSession(ctx, connect.NewRequest(&v1.GetSessionRequest{Id: missing}))
	wantCode(t, err, connect.CodeNotFound, missing)
	if streamspace.AsError(err).CodeName() != "not_found" {
		t.Fatalf("code name %q", streamspace.AsError(err).CodeName())
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeNotFound {
		t.Fatalf("the *connect.Error is still reachable with errors.As: %v", err)
	}
	_, err = c.Sessions.GetSession(ctx, connect.NewRequest(&v1.GetSessionRequest{Id: "nope"}))
	wantCode(t, err, connect.CodeInvalidArgument, "id: ")

	down, _ := streamspace.New("http://127.0.0.1:9", streamspace.WithAPIKey("ssk_unused"),
		streamspace.WithRetry(streamspace.RetryPolicy{Attempts: 2, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	_, err = down.Templates.ListTemplates(ctx, connect.NewRequest(&v1.ListTemplatesRequest{}))
	wantCode(t, err, connect.CodeUnavailable, "")
}

func TestAPIKey(t *testing.T) {
	ctx := context.Background()
	admin := signedIn(t, live.URL)
	created, err := admin.Auth.CreateApiKey(ctx, connect.NewRequest(&v1.CreateApiKeyRequest{Name: "go-sdk-test"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Msg.GetSecret(), "ssk_") {
		t.Fatalf("secret %q", created.Msg.GetSecret())
	}
	withKey, _ := streamspace.New(live.URL, streamspace.WithAPIKey(created.Msg.GetSecret()), streamspace.WithProtocol(streamspace.Connect))
	me, err := withKey.Auth.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
	if err != nil || me.Msg.GetUser().GetUsername() != "admin" {
		t.Fatalf("WhoAmI with a key: %v", err)
	}
	for _, err := range withKey.ListSessions(ctx, &v1.ListSessionsRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Auth.RevokeApiKey(ctx, connect.NewRequest(&v1.RevokeApiKeyRequest{Id: created.Msg.GetApiKey().GetId()})); err != nil {
		t.Fatal(err)
	}
	_, err = withKey.Auth.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated, "")
}

func TestRefreshBeforeExpiryOnceForConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	var seen []*streamspace.TokenSet
	c := signedIn(t, live.URL,
		streamspace.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }),
		streamspace.OnTokens(func(ts *streamspace.TokenSet) { mu.Lock(); seen = append(seen, ts); mu.Unlock() }))
	first := c.Tokens()
	mu.Lock()
	now = first.AccessExpiresAt.Add(-30 * time.Second) // inside the 60 s margin
	mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Auth.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("want one sign-in and exactly one refresh, got %d token events", len(seen))
	}
	if c.Tokens().AccessToken == first.AccessToken || c.Tokens().RefreshToken == first.RefreshToken {
		t.Fatal("the pair did not change")
	}
	_, err := c.Auth.Refresh(ctx, connect.NewRequest(&v1.RefreshRequest{RefreshToken: first.RefreshToken}))
	wantCode(t, err, connect.CodeUnauthenticated, "already used")
}

func TestRefusedTokenIsRefreshedAndTheCallRepeated(t *testing.T) {
	ctx := context.Background()
	t0 := signedIn(t, live.URL).Tokens()
	broken := *t0
	broken.AccessToken = t0.AccessToken[:len(t0.AccessToken)-4] + "AAAA"
	var events int
	c, _ := streamspace.New(live.URL, streamspace.WithProtocol(streamspace.GRPCWeb), streamspace.WithTokens(&broken),
		streamspace.OnTokens(func(*streamspace.TokenSet) { events++ }))
	me, err := c.Auth.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
	if err != nil || me.Msg.GetUser().GetUsername() != "admin" {
		t.Fatalf("WhoAmI after a refused token: %v", err)
	}
	if events != 1 {
		t.Fatalf("want one refresh, got %d", events)
	}
	if err := c.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Auth.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated, "Sign in first")
}

func TestPaging(t *testing.T) {
	ctx := context.Background()
	c := signedIn(t, live.URL)
	for i := range 5 {
		_, err := c.Templates.CreateTemplate(ctx, connect.NewRequest(&v1.CreateTemplateRequest{Template: &v1.Template{
			Name: fmt.Sprintf("go-paging-%d", i), Image: "builtin:demo", Platform: v1.Platform_PLATFORM_LOCAL,
		}}))
		if err != nil {
			t.Fatal(err)
		}
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for tpl, err := range c.ListTemplates(ctx, 2) {
		if err != nil {
			t.Fatal(err)
		}
		if ids[tpl.GetId()] {
			t.Fatalf("template %s listed twice", tpl.GetName())
		}
		ids[tpl.GetId()], names[tpl.GetName()] = true, true
	}
	for i := range 5 {
		if !names[fmt.Sprintf("go-paging-%d", i)] {
			t.Fatalf("go-paging-%d missing from %v", i, names)
		}
	}
	n := 0
	for range c.ListTemplates(ctx, 2) {
		if n++; n == 3 {
			break
		}
	}
	agents := 0
	for a, err := range c.ListAgents(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if a.GetId() == "local-1" {
			agents++
		}
	}
	if agents != 1 {
		t.Fatal("the local agent is not listed")
	}
}
