// Package streamspace is the Go client of the StreamSpace control plane: the generated Connect
// clients of the five public services (gen/streamspace/v1) behind one credential, plus what
// every caller would otherwise write: password or API-key sign-in, access-token refresh before
// expiry, *Error with code and message, paging iterators and a WatchSessions that reconnects.
package streamspace

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	v1 "streamspace.dev/sdk/go/gen/streamspace/v1"
	"streamspace.dev/sdk/go/gen/streamspace/v1/streamspacev1connect"
)

// Protocol is one of the three the control plane serves on its one port.
type Protocol string

const (
	// GRPC over HTTP/2 (h2c for http:// URLs); the default.
	GRPC Protocol = "grpc"
	// GRPCWeb over HTTP/1.1, as a browser or an HTTP/1.1-only proxy would send it.
	GRPCWeb Protocol = "grpc-web"
	// Connect over HTTP/1.1, binary protobuf.
	Connect Protocol = "connect"
)

// Client talks to one control plane (or a balancer in front of several).
type Client struct {
	Sessions  streamspacev1connect.SessionServiceClient
	Templates streamspacev1connect.TemplateServiceClient
	Agents    streamspacev1connect.AgentServiceClient
	Auth      streamspacev1connect.AuthServiceClient
	Users     streamspacev1connect.UserServiceClient
	Protocol  Protocol

	creds *credentials
}

type config struct {
	protocol      Protocol
	httpClient    connect.HTTPClient
	apiKey        string
	tokens        *TokenSet
	onTokens      func(*TokenSet)
	refreshBefore time.Duration
	retry         RetryPolicy
	now           func() time.Time
	options       []connect.ClientOption
}

// Option configures New.
type Option func(*config)

// WithProtocol picks gRPC (default), gRPC-Web or Connect.
func WithProtocol(p Protocol) Option { return func(c *config) { c.protocol = p } }

// WithAPIKey signs every call with an API key (ssk_…) instead of a password sign-in.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithTokens resumes a sign-in saved from OnTokens.
func WithTokens(t *TokenSet) Option { return func(c *config) { c.tokens = t } }

// OnTokens is told every new pair (after sign-in and each refresh), and nil on sign-out.
func OnTokens(fn func(*TokenSet)) Option { return func(c *config) { c.onTokens = fn } }

// WithRefreshBefore refreshes the access token when it expires within d (default 60 s).
func WithRefreshBefore(d time.Duration) Option { return func(c *config) { c.refreshBefore = d } }

// WithRetry sets how idempotent reads are retried after Unavailable.
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithHTTPClient replaces the HTTP client (TLS settings, proxies, timeouts).
func WithHTTPClient(h connect.HTTPClient) Option { return func(c *config) { c.httpClient = h } }

// WithClock replaces time.Now, so tests can reach a token's expiry without waiting.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithClientOptions passes options (interceptors, compression, read limits) to every client.
func WithClientOptions(o ...connect.ClientOption) Option {
	return func(c *config) { c.options = append(c.options, o...) }
}

// New builds a client for the control plane at baseURL, e.g. "http://127.0.0.1:8080".
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{
		protocol:      GRPC,
		refreshBefore: time.Minute,
		retry:         RetryPolicy{Attempts: 3, InitialDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second},
		now:           time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	baseURL = strings.TrimRight(baseURL, "/")
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, errors.New("streamspace: the base URL must start with http:// or https://, e.g. http://127.0.0.1:8080")
	}
	var options []connect.ClientOption
	switch cfg.protocol {
	case GRPC:
		options = append(options, connect.WithGRPC())
	case GRPCWeb:
		options = append(options, connect.WithGRPCWeb())
	case Connect: // connect-go's default protocol, binary protobuf
	default:
		return nil, errors.New(`streamspace: unknown protocol "` + string(cfg.protocol) + `"; use grpc, grpc-web or connect`)
	}
	if cfg.httpClient == nil {
		cfg.httpClient = defaultHTTPClient(cfg.protocol)
	}
	c := &Client{Protocol: cfg.protocol}
	c.creds = &credentials{refreshBefore: cfg.refreshBefore, now: cfg.now, onTokens: cfg.onTokens}
	if cfg.apiKey != "" {
		c.creds.apiKey = cfg.apiKey
	} else if cfg.tokens != nil {
		c.creds.tokens = cfg.tokens
	}
	options = append(options, connect.WithInterceptors(&layer{creds: c.creds, retry: cfg.retry}))
	options = append(options, cfg.options...)
	c.Sessions = streamspacev1connect.NewSessionServiceClient(cfg.httpClient, baseURL, options...)
	c.Templates = streamspacev1connect.NewTemplateServiceClient(cfg.httpClient, baseURL, options...)
	c.Agents = streamspacev1connect.NewAgentServiceClient(cfg.httpClient, baseURL, options...)
	c.Auth = streamspacev1connect.NewAuthServiceClient(cfg.httpClient, baseURL, options...)
	c.Users = streamspacev1connect.NewUserServiceClient(cfg.httpClient, baseURL, options...)
	c.creds.refresh = func(ctx context.Context, refreshToken string) (*TokenSet, error) {
		res, err := c.Auth.Refresh(ctx, connect.NewRequest(&v1.RefreshRequest{RefreshToken: refreshToken}))
		if err != nil {
			return nil, err
		}
		return tokenSet(res.Msg.GetTokens())
	}
	return c, nil
}

// defaultHTTPClient speaks HTTP/2 without TLS (prior knowledge) for gRPC on http:// URLs, which
// is how the control plane serves gRPC; TLS URLs negotiate HTTP/2 as usual.
func defaultHTTPClient(p Protocol) *http.Client {
	if p != GRPC {
		return &http.Client{}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(false)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols}}
}

func tokenSet(p *v1.TokenPair) (*TokenSet, error) {
	if p.GetAccessToken() == "" {
		return nil, &Error{Code: connect.CodeInternal, Message: "the server answered without tokens"}
	}
	return &TokenSet{
		AccessToken:      p.GetAccessToken(),
		AccessExpiresAt:  p.GetAccessExpireTime().AsTime(),
		RefreshToken:     p.GetRefreshToken(),
		RefreshExpiresAt: p.GetRefreshExpireTime().AsTime(),
	}, nil
}

// SignIn signs in with a password; later calls carry the access token and refresh it.
func (c *Client) SignIn(ctx context.Context, username, password string) (*v1.User, error) {
	res, err := c.Auth.Login(ctx, connect.NewRequest(&v1.LoginRequest{Username: username, Password: password}))
	if err != nil {
		return nil, err
	}
	t, err := tokenSet(res.Msg.GetTokens())
	if err != nil {
		return nil, err
	}
	c.creds.useTokens(t)
	return res.Msg.GetUser(), nil
}

// UseAPIKey switches the client to an API key.
func (c *Client) UseAPIKey(key string) { c.creds.useAPIKey(strings.TrimSpace(key)) }

// Tokens is the current pair (nil with an API key or before sign-in).
func (c *Client) Tokens() *TokenSet {
	_, t := c.creds.current()
	return t
}

// SignOut revokes the refresh and access tokens on the server and forgets them.
func (c *Client) SignOut(ctx context.Context) error {
	_, t := c.creds.current()
	var err error
	if t != nil {
		_, err = c.Auth.Logout(ctx, connect.NewRequest(&v1.LogoutRequest{RefreshToken: t.RefreshToken}))
	}
	c.creds.mu.Lock()
	c.creds.apiKey, c.creds.tokens = "", nil
	c.creds.mu.Unlock()
	c.creds.notify(nil)
	return err
}
