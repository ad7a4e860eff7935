package h1

import (
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Busy polling. A thread that parks to wait for a socket is woken by the
// kernel when bytes arrive; on a virtual machine whose idle CPUs halt (no
// guest halt polling), that wake-up costs tens of microseconds, and a hop
// has two of them: as much as the gateway's own work. Polling the socket
// for a short while before parking keeps the CPU awake for an answer that
// is about to come, as Linux's busy_read does for the devices it supports.
//
// It is bounded three ways, so that it costs a CPU nothing it would
// otherwise use: a connection polls only if its previous wait was within
// the window (a client or upstream that takes longer never sees it), at
// most one goroutine polls at a time, and none does while another request
// is being served.

var (
	// serving counts the lean server's requests in progress.
	serving atomic.Int32
	// polling is held by the one goroutine polling.
	polling atomic.Bool
)

// poller is the busy-poll state of one connection.
type poller struct {
	window   time.Duration // zero: never poll
	lastWait time.Duration // how long the previous wait took
}

// wait polls c until it has bytes to read, or the window has passed, if
// this connection's answers come fast enough and nothing else wants the
// CPU. busy is how many requests of the server may be in progress meanwhile
// (the poller's own request counts). It returns when the caller should
// read; the read itself parks if nothing came.
func (p *poller) wait(c net.Conn, busy int32) {
	if p.window <= 0 || p.lastWait > p.window || serving.Load() > busy {
		return
	}
	sc, ok := c.(syscall.Conn) // TCP; TLS keeps bytes of its own, so it is not polled
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil || !polling.CompareAndSwap(false, true) {
		return
	}
	defer polling.Store(false)
	deadline := time.Now().Add(p.window)
	var b [1]byte
	for {
		ready := false
		err := rc.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			ready = n > 0 || err != syscall.EAGAIN // bytes, the end, or a failure: the read sees which
			return true
		})
		if ready || err != nil || time.Now().After(deadline) || serving.Load() > busy {
			return
		}
		// Any goroutine, then any thread with work goes first: the
		// client or upstream being waited for may need this CPU.
		runtime.Gosched()
		syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// waited records how long a wait took, from its start to the first bytes.
func (p *poller) waited(d time.Duration) { p.lastWait = d }
