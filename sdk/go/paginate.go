package streamspace

import (
	"context"
	"iter"

	"connectrpc.com/connect"
	v1 "streamspace.dev/sdk/go/gen/streamspace/v1"
)

// maxPage is the largest page the server accepts; the helpers ask for it to save round trips.
const maxPage = 500

// Pages walks a List call (page_size, page_token → next_page_token, empty when done) and yields
// every item; the next page is fetched only once the caller consumed the current one, and a
// break stops the walk. An error is yielded once, last.
func Pages[T any](ctx context.Context, fetch func(ctx context.Context, pageToken string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		token := ""
		for {
			items, next, err := fetch(ctx, token)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if next == token {
				var zero T
				yield(zero, &Error{Code: connect.CodeInternal, Message: "the server returned the same page token twice"})
				return
			}
			token = next
		}
	}
}

// ListSessions yields every session matching filter (its page fields are ignored; PageSize 0
// means the largest page).
func (c *Client) ListSessions(ctx context.Context, filter *v1.ListSessionsRequest) iter.Seq2[*v1.Session, error] {
	size := pageSizeOr(filter.GetPageSize())
	return Pages(ctx, func(ctx context.Context, token string) ([]*v1.Session, string, error) {
		req := &v1.ListSessionsRequest{
			PageSize: size, PageToken: token, States: filter.GetStates(),
			OwnerId: filter.GetOwnerId(), AgentId: filter.GetAgentId(), TemplateId: filter.GetTemplateId(),
		}
		res, err := c.Sessions.ListSessions(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, "", err
		}
		return res.Msg.GetSessions(), res.Msg.GetNextPageToken(), nil
	})
}

// ListTemplates yields every template, pageSize at a time (0: the largest page).
func (c *Client) ListTemplates(ctx context.Context, pageSize int32) iter.Seq2[*v1.Template, error] {
	size := pageSizeOr(pageSize)
	return Pages(ctx, func(ctx context.Context, token string) ([]*v1.Template, string, error) {
		res, err := c.Templates.ListTemplates(ctx, connect.NewRequest(&v1.ListTemplatesRequest{PageSize: size, PageToken: token}))
		if err != nil {
			return nil, "", err
		}
		return res.Msg.GetTemplates(), res.Msg.GetNextPageToken(), nil
	})
}

// ListAgents yields every agent in one of states (all when empty).
func (c *Client) ListAgents(ctx context.Context, states ...v1.AgentState) iter.Seq2[*v1.Agent, error] {
	return Pages(ctx, func(ctx context.Context, token string) ([]*v1.Agent, string, error) {
		res, err := c.Agents.ListAgents(ctx, connect.NewRequest(&v1.ListAgentsRequest{PageSize: maxPage, PageToken: token, States: states}))
		if err != nil {
			return nil, "", err
		}
		return res.Msg.GetAgents(), res.Msg.GetNextPageToken(), nil
	})
}

// ListUsers yields every user (admins only).
func (c *Client) ListUsers(ctx context.Context) iter.Seq2[*v1.User, error] {
	return Pages(ctx, func(ctx context.Context, token string) ([]*v1.User, string, error) {
		res, err := c.Users.ListUsers(ctx, connect.NewRequest(&v1.ListUsersRequest{PageSize: maxPage, PageToken: token}))
		if err != nil {
			return nil, "", err
		}
		return res.Msg.GetUsers(), res.Msg.GetNextPageToken(), nil
	})
}

func pageSizeOr(n int32) int32 {
	if n <= 0 || n > maxPage {
		return maxPage
	}
	return n
}
