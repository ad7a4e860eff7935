package h1

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// timed reports how long p.wait took on c.
func timed(p *poller, c net.Conn, busy int32) time.Duration {
	start := time.Now()
	p.wait(c, busy)
	return time.Since(start)
}

func TestPollEndsWhenBytesArrive(t *testing.T) {
	a, b := tcpPair(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.Write([]byte("x"))
	}()
	p := &poller{window: 10 * time.Second}
	if d := timed(p, b, 0); d < 20*time.Millisecond || d > 5*time.Second {
		t.Fatalf("the poll took %v; the byte came after 20ms", d)
	}
	buf := make([]byte, 1)
	if n, _ := b.Read(buf); n != 1 {
		t.Fatal("the polled byte was consumed")
	}
}

func TestPollEndsWhenThePeerCloses(t *testing.T) {
	a, b := tcpPair(t)
	a.Close()
	if d := timed(&poller{window: 10 * time.Second}, b, 0); d > 5*time.Second {
		t.Fatalf("the poll of a closed connection took %v", d)
	}
}

func TestPollEndsWhenTheConnectionIsClosed(t *testing.T) {
	_, b := tcpPair(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.Close() // as Shutdown or a cancelled call does
	}()
	if d := timed(&poller{window: 10 * time.Second}, b, 0); d > 5*time.Second {
		t.Fatalf("the poll of a connection closed under it took %v", d)
	}
}

func TestPollRunsOnlyWhereItPays(t *testing.T) {
	_, b := tcpPair(t)
	const window = 300 * time.Millisecond

	// A connection whose last answer came within the window is polled
	// for the whole window when nothing comes.
	if d := timed(&poller{window: window}, b, 0); d < window {
		t.Fatalf("a prompt connection was polled %v, want the window, %v", d, window)
	}
	for name, wait := range map[string]func() time.Duration{
		"off": func() time.Duration { return timed(&poller{}, b, 0) },
		"slow answers": func() time.Duration {
			p := &poller{window: window}
			p.waited(2 * window)
			return timed(p, b, 0)
		},
		"another request in progress": func() time.Duration {
			serving.Add(2)
			defer serving.Add(-2)
			return timed(&poller{window: window}, b, 1)
		},
		"another poll under way": func() time.Duration {
			polling.Store(true)
			defer polling.Store(false)
			return timed(&poller{window: window}, b, 0)
		},
		"TLS": func() time.Duration { return timed(&poller{window: window}, tls.Client(b, &tls.Config{}), 0) },
	} {
		if d := wait(); d > window/3 {
			t.Errorf("%s: polled for %v", name, d)
		}
	}
}
