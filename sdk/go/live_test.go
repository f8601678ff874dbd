package streamspace_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// live is the control plane every test talks to: the repository's own launcher (control plane,
// relay and local agent on real Postgres) started as a child process. Never a mock.
var live struct {
	URL, Address, Username, Password string
}

func TestMain(m *testing.M) {
	os.Exit(runWithControlPlane(m))
}

func runWithControlPlane(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("node", "--import", "tsx", "sdk/ts/testing/live-control-plane.ts")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe() // closing it stops the control plane
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot run node (install Node.js 20 and run npm ci at the repository root): %v\n", err)
		return 1
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(120 * time.Second):
			cmd.Process.Kill()
		}
	}()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		if !ok || json.Unmarshal([]byte(l), &live) != nil {
			fmt.Fprintf(os.Stderr, "the live control plane did not start (launcher said %q)\n", l)
			return 1
		}
	case <-time.After(3 * time.Minute):
		fmt.Fprintln(os.Stderr, "the live control plane did not start within 3 minutes")
		return 1
	}
	return m.Run()
}

// cuttableProxy forwards a loopback port to the control plane so a test can drop every
// connection (a restart or a network blip) and refuse new ones for a while.
type cuttableProxy struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    map[net.Conn]bool
	paused   bool
	accepted int
}

func startProxy(t *testing.T, target string) *cuttableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{ln: ln, conns: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.paused {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.accepted++
			p.mu.Unlock()
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.track(c, up)
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cuttableProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cuttableProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *cuttableProxy) setPaused(v bool) {
	p.mu.Lock()
	p.paused = v
	p.mu.Unlock()
}

func (p *cuttableProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}
