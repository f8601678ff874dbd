// Quickstart: sign in, launch the demo desktop, follow it to running, print its viewer path,
// stop it.
//
//	STREAMSPACE_URL=http://127.0.0.1:8080 STREAMSPACE_PASSWORD=… go run ./examples/quickstart
//
// With STREAMSPACE_API_KEY set instead of a password, the key is used.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"connectrpc.com/connect"
	streamspace "streamspace.dev/sdk/go"
	v1 "streamspace.dev/sdk/go/gen/streamspace/v1"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := getenv("STREAMSPACE_URL", "http://127.0.0.1:8080")
	c, err := streamspace.New(url)
	if err != nil {
		log.Fatal(err)
	}
	if key := os.Getenv("STREAMSPACE_API_KEY"); key != "" {
		c.UseAPIKey(key)
	} else if _, err := c.SignIn(ctx, getenv("STREAMSPACE_USER", "admin"), os.Getenv("STREAMSPACE_PASSWORD")); err != nil {
		log.Fatal(err) // e.g. "unauthenticated: Wrong username or password."
	}

	created, err := c.Sessions.CreateSession(ctx, connect.NewRequest(&v1.CreateSessionRequest{Template: "demo-desktop"}))
	if err != nil {
		log.Fatal(err)
	}
	id := created.Msg.GetSession().GetId()
	fmt.Println("created", id)
	for ev, err := range c.WatchSessions(ctx, streamspace.WatchOptions{SessionID: id}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("state", ev.Session.GetState())
		if ev.Session.GetState() == v1.SessionState_SESSION_STATE_RUNNING {
			fmt.Println("viewer", url+ev.Session.GetViewerPath())
			break
		}
	}
	if _, err := c.Sessions.StopSession(ctx, connect.NewRequest(&v1.StopSessionRequest{Id: id})); err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, err := range c.ListSessions(ctx, &v1.ListSessionsRequest{}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println("sessions visible:", n)
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
