// Command loadtest measures what claudebridge costs: in one run it loads a
// stand-in upstream (claudebridge's own Anthropic API emulator) directly,
// through a bare httputil.ReverseProxy (for scale, in a process of its own)
// and through `claudebridge serve` with API_KEYS set, with wrk (Debian
// package "wrk"), and prints requests per second, median latency, the
// ratios to the direct run, the proxy's and the gateway's CPU per call, the
// gateway's peak RSS and the error count.
//
// Each scenario runs in rounds that take the three targets in turn, so that
// the machine's drift (other tenants of a shared host) falls on all three
// alike; the added latency is the median of the rounds' differences.
//
// Then the realistic scenarios (realistic.go) send Claude Code-sized bodies
// through the Anthropic upstream, Bedrock InvokeModel for a model of every
// family and Bedrock Converse, and report the gateway's CPU per call beside
// the bare proxy's for the same bytes.
//
// With -ops every scenario also runs through a gateway with its operations
// on (ops.go), and the two gateways' CPU per call is printed side by side.
//
//	go run ./cmd/loadtest [-duration 10s] [-rounds 5] [-connections 50] [-realistic 370K,1M] [-realistic-duration 4s] [-ops [-database postgres://...]]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const gatewayKey = "loadtest-key"

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each wrk run")
	conns := flag.Int("connections", 50, "connections of the loaded runs")
	words := flag.Int("words", 45, "words per answer; the emulator sends one text delta per word, so a stream has words+6 events")
	rounds := flag.Int("rounds", 5, "rounds per scenario; each target runs duration/rounds per round")
	sizes := flag.String("realistic", "370K", "body sizes of the realistic scenarios, comma-separated (K or M suffix); \"\" skips them")
	realDuration := flag.Duration("realistic-duration", 4*time.Second, "length of each realistic scenario")
	ops := flag.Bool("ops", false, "also run every scenario through a gateway with a virtual key with limits, metrics and the ledger, and print both gateways' CPU per call")
	database := flag.String("database", "", "with -ops: the operations gateways' DATABASE_URL (postgres://... measures them on PostgreSQL, with SHARED_LIMITS); default a SQLite file of their own")
	bareProxy := flag.String("bare-proxy", "", "serve only the bare proxy of the comparison, in front of this upstream (host:port), at -listen: loadtest starts itself so, to measure the proxy's CPU apart")
	listen := flag.String("listen", "127.0.0.1:0", "with -bare-proxy: the address to serve at")
	flag.Parse()
	if *bareProxy != "" {
		fmt.Fprintln(os.Stderr, "loadtest:", serveBareProxy(*bareProxy, *listen, *conns))
		os.Exit(1)
	}
	realistic, err := parseSizes(*sizes)
	if err == nil {
		err = run(*duration, max(*rounds, 1), *conns, *words, realistic, *realDuration, *ops, *database)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type result struct {
	rps       float64
	p50       time.Duration
	errors    int
	completed int
	cpu       time.Duration // the gateway's CPU during the load, when it was measured
}

func run(duration time.Duration, rounds, conns, words int, realistic []int, realDuration time.Duration, withOps bool, database string) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: apt-get install -y wrk")
	}
	dir, err := os.MkdirTemp("", "claudebridge-loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "claudebridge")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/claudebridge").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	upAddr, gwAddr := freeAddr(), freeAddr()
	up := start(bin, nil, "emulate", "anthropic", "--listen", upAddr)
	defer stop(up)
	env := []string{
		"AI_PROVIDER=anthropic", "ANTHROPIC_BASE_URL=http://" + upAddr, "ANTHROPIC_API_KEY=upstream-key",
		"API_KEYS=" + gatewayKey, "LOG_LEVEL=" + or(os.Getenv("LOG_LEVEL"), "info"),
		"DATABASE_URL=" + filepath.Join(dir, "anthropic.db"), // not the user's own database
		"LEDGER=off", // the gateway with its operations off; -ops runs one with them on
	}
	gw := start(bin, env, "serve", "--listen", gwAddr)
	defer stop(gw)
	proxyAddr, proxy := startBareProxy(upAddr, conns)
	defer stop(proxy)
	// The targets of the tiny scenarios, in the order each round takes
	// them; the proxy's and the gateways' CPU is measured.
	addrs, keys := []string{upAddr, proxyAddr, gwAddr}, []string{gatewayKey, gatewayKey, gatewayKey}
	pids := map[string]int{proxyAddr: proxy.Process.Pid, gwAddr: gw.Process.Pid}
	var ops *opsGateways
	opsAddr := ""
	if withOps {
		if ops, err = startOps(bin, dir, database); err != nil {
			return err
		}
		defer ops.stop()
		opsAddr = freeAddr()
		pids[opsAddr] = ops.start(env, opsAddr).Process.Pid
		addrs, keys = append(addrs, opsAddr), append(keys, ops.key)
	}
	for _, a := range []string{upAddr, proxyAddr, gwAddr, opsAddr} {
		if a == "" {
			continue
		}
		if err := waitListening(a); err != nil {
			return err
		}
	}

	plain := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Benchmark question [[words=%d]]"}]}`, words)
	if ops != nil {
		if err := ops.limited(opsAddr, plain); err != nil {
			return err
		}
	}
	streamed := strings.Replace(plain, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	type scenario struct {
		name  string
		body  string
		conns int
	}
	scenarios := []scenario{
		{"non-streaming", plain, conns},
		{"streaming", streamed, conns},
		{"non-streaming", plain, 1},
		{"streaming", streamed, 1},
	}
	failed := false
	var opsLines []opsLine
	fmt.Printf("%-14s %5s  %11s  %11s %6s  %11s %6s  %10s %11s %11s  %-13s  %s\n", "scenario", "conns",
		"direct rps", "proxy rps", "ratio", "gateway rps", "ratio", "direct p50", "proxy added", "gw added", "errors d/p/gw", "CPU/call proxy, gw")
	for _, s := range scenarios {
		ts := make([]target, len(addrs))
		for i, addr := range addrs {
			script, err := wrkFile(dir, fmt.Sprintf("tiny-%d", i), []byte(s.body), map[string]string{"anthropic-version": "2023-06-01", "x-api-key": keys[i]})
			if err != nil {
				return err
			}
			ts[i] = target{addr: addr, path: "/v1/messages", script: script, pid: pids[addr]}
		}
		rs := make([][]result, len(ts))
		added := make([][]time.Duration, len(ts))
		for range rounds {
			r := make([]result, len(ts))
			for i, t := range ts {
				if r[i], err = wrkScript(t, "", s.conns, duration/time.Duration(rounds)); err != nil {
					return err
				}
				rs[i] = append(rs[i], r[i])
				added[i] = append(added[i], r[i].p50-r[0].p50)
			}
		}
		r := make([]result, len(ts))
		for i := range r {
			r[i] = combine(rs[i])
		}
		fmt.Printf("%-14s %5d  %11.0f  %11.0f %5.1f%%  %11.0f %5.1f%%  %10s %11s %11s  %-13s  %s, %s\n", s.name, s.conns,
			r[0].rps, r[1].rps, 100*r[1].rps/r[0].rps, r[2].rps, 100*r[2].rps/r[0].rps,
			r[0].p50, median(added[1]).Round(time.Microsecond), median(added[2]).Round(time.Microsecond),
			fmt.Sprintf("%d/%d/%d", r[0].errors, r[1].errors, r[2].errors), cpuPerCall(r[1]), cpuPerCall(r[2]))
		if r[2].errors > 0 {
			failed = true // the gateway's errors fail the run; the others are context
		}
		if ops != nil {
			opsLines = append(opsLines, opsLine{fmt.Sprintf("%-14s %5d", s.name, s.conns), r[2], r[3]})
			ops.completed += r[3].completed
			failed = failed || r[3].errors > 0
		}
	}
	rss, err := peakRSS(gw.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("gateway peak RSS: %.1f MB\n", float64(rss)/(1<<20))
	if ops != nil {
		printOps(fmt.Sprintf("%-14s %5s", "scenario", "conns"), opsLines)
	}
	if failed {
		return errors.New("some requests failed")
	}
	if len(realistic) > 0 {
		g, stopRealistic, err := startRealistic(bin, dir, upAddr, proxyAddr, proxy.Process.Pid, gwAddr, gw.Process.Pid, ops, opsAddr)
		if err != nil {
			return err
		}
		defer stopRealistic()
		if err := g.run(dir, realistic, conns, realDuration, rounds); err != nil {
			return err
		}
	}
	if ops != nil {
		return ops.check()
	}
	return nil
}

// parseSizes reads "370K,1M" as byte counts.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		unit := 1
		switch {
		case strings.HasSuffix(f, "K"):
			unit, f = 1<<10, strings.TrimSuffix(f, "K")
		case strings.HasSuffix(f, "M"):
			unit, f = 1<<20, strings.TrimSuffix(f, "M")
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("size %q: %v", f, err)
		}
		out = append(out, n*unit)
	}
	return out, nil
}

// combine sums the rounds of one target: mean requests per second, median
// of the medians, errors, requests and CPU added up.
func combine(rounds []result) result {
	var c result
	p50s := make([]time.Duration, 0, len(rounds))
	for _, r := range rounds {
		c.rps += r.rps / float64(len(rounds))
		c.errors += r.errors
		c.completed += r.completed
		c.cpu += r.cpu
		p50s = append(p50s, r.p50)
	}
	c.p50 = median(p50s)
	return c
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

var (
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p50Line    = regexp.MustCompile(`\n\s+50%\s+([0-9.]+)(us|ms|s)`)
	non2xx     = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	socketErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	doneLine   = regexp.MustCompile(`(\d+) requests in`)
)

// wrkScript runs one load of a script on url (t's address and path when
// url is empty), parses its report and, when t has a process, adds the CPU
// it spent meanwhile.
func wrkScript(t target, url string, conns int, duration time.Duration) (result, error) {
	if url == "" {
		url = "http://" + t.addr + t.path
	}
	var r result
	var cpuBefore time.Duration
	if t.pid != 0 {
		var err error
		if cpuBefore, err = cpuTime(t.pid); err != nil {
			return r, err
		}
	}
	script := t.script
	threads := min(conns, 2)
	secs := max(duration.Round(time.Second)/time.Second, 1) // wrk takes whole seconds: "1.5s" is a usage error
	out, err := exec.Command("wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", secs),
		"--latency", "--timeout", "60s", "-s", script, url).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if t.pid != 0 {
		after, err := cpuTime(t.pid)
		if err != nil {
			return r, err
		}
		r.cpu = after - cpuBefore
	}
	text := string(out)
	if m := rpsLine.FindStringSubmatch(text); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := p50Line.FindStringSubmatch(text); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
		r.p50 = time.Duration(v * float64(unit))
	}
	if m := non2xx.FindStringSubmatch(text); m != nil {
		r.errors, _ = strconv.Atoi(m[1])
	}
	if m := socketErrs.FindStringSubmatch(text); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	if m := doneLine.FindStringSubmatch(text); m != nil {
		r.completed, _ = strconv.Atoi(m[1])
	}
	if r.rps == 0 || r.completed == 0 {
		return r, fmt.Errorf("wrk completed no request:\n%s", text)
	}
	return r, nil
}

// startBareProxy starts, for scale, a bare httputil.ReverseProxy in front
// of the upstream in a process of its own (this program with -bare-proxy),
// whose CPU is measured as the gateways' is.
func startBareProxy(upstream string, conns int) (addr string, proxy *exec.Cmd) {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
	addr = freeAddr()
	return addr, start(self, nil, "-bare-proxy", upstream, "-listen", addr, "-connections", strconv.Itoa(conns))
}

// serveBareProxy serves the bare proxy: what any Go proxy costs. It
// flushes every write, as the gateway flushes every event, and keeps more
// idle connections per host than the load has connections. It reads the
// client's body whole before it sends it, as the gateway does: a body
// passed on from the socket is closed by the server as soon as the answer's
// headers go out, and the transport's last read of it (a check for bytes
// beyond its length) then fails the write and closes the upstream
// connection under the answer (golang/go#40747), which cut about one
// stream in forty at one connection.
func serveBareProxy(upstream, addr string, conns int) error {
	target, _ := url.Parse("http://" + upstream)
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		if r.Out.Body != nil { // nil when empty
			b, _ := io.ReadAll(r.Out.Body) // a short read fails the call: the length is the client's
			r.Out.Body = io.NopCloser(bytes.NewReader(b))
		}
	}}
	p.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: max(256, conns), IdleConnTimeout: 90 * time.Second}
	p.FlushInterval = -1
	p.ErrorLog = log.New(io.Discard, "", 0) // wrk's closing connections at the end of a run are not news
	return http.ListenAndServe(addr, p)
}

func start(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = nil, nil // discarded: the gateway's log must not slow the terminal
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
	return cmd
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not start listening", addr)
}

// peakRSS reads the high-water mark of a process's resident memory.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
