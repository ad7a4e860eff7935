// Command chatload opens many concurrent chat turns over WebSocket against
// an in-process chat server on the Anthropic API emulator, and reports the
// delay between each text delta leaving the emulator and its arrival on the
// socket (p50, p99, max), the time from a send to its turn frame (the
// turn's start stored), the process's peak RSS, and whether every turn was
// stored complete.
//
//	go run ./cmd/chatload -turns 1000 -words 100 -slow 20
//
// Everything runs in one process (emulator, chat server with its SQLite
// file, clients), so the RSS reported is an upper bound of the server's;
// with -process the server is a serve process of its own, and with
// -processes 3 -database postgres://... three of them share PostgreSQL,
// each turn read back through another process than its own; the CPU time
// the serve processes used (start-up and reads back included) is reported
// too, which a shared host's noise moves far less than the delays.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/sqlite"
)

var tagPattern = regexp.MustCompile(`load-[0-9]+`)

// emitted records when the emulator wrote each text delta of each turn,
// by the tag in the turn's user text.
type emitted struct {
	mu    sync.Mutex
	times map[string][]time.Time
}

type tapWriter struct {
	http.ResponseWriter
	e   *emitted
	tag string
}

func (w *tapWriter) Write(p []byte) (int, error) {
	n := bytes.Count(p, []byte(`"type":"text_delta"`))
	n2, err := w.ResponseWriter.Write(p)
	if n > 0 {
		now := time.Now()
		w.e.mu.Lock()
		for range n {
			w.e.times[w.tag] = append(w.e.times[w.tag], now)
		}
		w.e.mu.Unlock()
	}
	return n2, err
}

func (w *tapWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *tapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func main() {
	turns := flag.Int("turns", 1000, "concurrent turns")
	words := flag.Int("words", 100, "words per answer")
	slow := flag.Int("slow", 20, "milliseconds between upstream events")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	process := flag.Bool("process", false, "run the chat server as a `claudebridge serve` process of its own (built here), and report its RSS alone")
	processes := flag.Int("processes", 1, "with -process: how many serve processes, on one database; the turns are spread over them in turn")
	database := flag.String("database", "", "with -process: the serves' DATABASE_URL (a postgres:// URL for several); default a SQLite file of its own")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*turns, *words, *slow, *process, max(*processes, 1), *database); err != nil {
		fmt.Fprintln(os.Stderr, "chatload:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(n, words, slow int, process bool, processes int, database string) error {
	e := &emitted{times: map[string][]time.Time{}}
	emu := anthropicemu.New(anthropicemu.Options{})
	emuSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		emu.ServeHTTP(&tapWriter{ResponseWriter: w, e: e, tag: tagPattern.FindString(string(body))}, r)
	}))
	defer emuSrv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	up := anthropicapi.New(anthropicapi.Options{BaseURL: emuSrv.URL, Key: anthropicapi.StaticKey("k"),
		Transport: transport})
	dir, err := os.MkdirTemp("", "chatload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var bases []string
	var what string
	var peak peakRSS
	var serves []*exec.Cmd
	defer func() { stopServes(serves) }()
	if process {
		if database == "" {
			database = filepath.Join(dir, "chat.db")
		}
		bin, err := build(dir)
		if err != nil {
			return err
		}
		for i := range processes {
			cmd, url, err := startServe(bin, emuSrv.URL, database)
			if err != nil {
				return err
			}
			serves = append(serves, cmd)
			bases = append(bases, url)
			if i == 0 {
				peak.status = fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			}
		}
		what = fmt.Sprintf("the first of %d claudebridge serve processes", processes)
	} else {
		db, err := sqlite.Open(filepath.Join(dir, "chat.db"))
		if err != nil {
			return err
		}
		defer db.Close()
		cs := chat.New(chat.Options{Upstream: up, Conversations: db, Prompts: db, Usage: db, Users: db, Local: true, TurnsPerUser: math.MaxInt32,
			Defaults: chat.Defaults{Model: "claude-sonnet-4-5-20250929", MaxTokens: 4096, Temperature: 0.3, TopK: 40}})
		srv := httptest.NewServer(cs)
		defer srv.Close()
		defer cs.Close(context.Background())
		bases, what = []string{srv.URL}, "the whole process (emulator + server + clients)"
	}

	results := make([]result, n)
	stopRSS := peak.watch()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.tag = fmt.Sprintf("load-%d", i)
			r.err = turn(bases[i%len(bases)], fmt.Sprintf("Load %s [[slow=%d]] [[words=%d]]", r.tag, slow, words), r)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopRSS()

	var delays, starts []time.Duration
	failed, incomplete := 0, 0
	client := &http.Client{}
	for i := range results {
		r := &results[i]
		if r.err != nil {
			failed++
			if failed <= 3 {
				fmt.Fprintln(os.Stderr, "turn failed:", r.err)
			}
			continue
		}
		starts = append(starts, r.started)
		e.mu.Lock()
		sent := e.times[r.tag]
		e.mu.Unlock()
		for k := range min(len(sent), len(r.arrived)) {
			delays = append(delays, r.arrived[k].Sub(sent[k]))
		}
		// Read back through another process than the turn's, when there is one.
		resp, err := client.Get(bases[(i+1)%len(bases)] + "/api/conversations/" + r.conv)
		if err != nil {
			return err
		}
		var conv struct {
			Messages []struct{ Content, Status string }
		}
		json.NewDecoder(resp.Body).Decode(&conv)
		resp.Body.Close()
		if len(conv.Messages) != 2 || conv.Messages[1].Status != "complete" || conv.Messages[1].Content != r.text || r.status != "complete" || len(sent) != len(r.arrived) {
			incomplete++
		}
	}
	slices.Sort(delays)
	slices.Sort(starts)
	pct := func(list []time.Duration, p float64) time.Duration {
		if len(list) == 0 {
			return 0
		}
		return list[min(len(list)-1, int(p*float64(len(list))))]
	}
	fmt.Printf("turns %d (failed %d, not stored complete %d) in %v; deltas %d\n", n, failed, incomplete, elapsed.Round(time.Millisecond), len(delays))
	fmt.Printf("delay upstream delta → socket: p50 %v  p99 %v  max %v\n", pct(delays, 0.5), pct(delays, 0.99), pct(delays, 1))
	fmt.Printf("send → turn frame (the turn's start stored): p50 %v  p99 %v\n", pct(starts, 0.5), pct(starts, 0.99))
	fmt.Printf("peak RSS of %s: %d MB\n", what, peak.max()>>20)
	if process {
		// From their start to their stop: start-up and the reads back are in.
		cpu := stopServes(serves)
		fmt.Printf("CPU of the serve processes (user+system): %v, %v per turn\n", cpu.Round(time.Millisecond), (cpu / time.Duration(n)).Round(10*time.Microsecond))
	}
	if failed > 0 || incomplete > 0 {
		return fmt.Errorf("%d turns failed, %d not stored complete", failed, incomplete)
	}
	return nil
}

// result is what a client saw of one turn.
type result struct {
	conv    string
	tag     string
	started time.Duration // from the send to its turn frame
	arrived []time.Time   // arrival of each delta, by seq
	text    string
	status  string
	err     error
}

// turn sends one message on a socket of its own and reads its answer.
func turn(base, text string, r *result) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := http.Header{"Origin": {base}}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	b, _ := json.Marshal(map[string]string{"type": "send", "text": text})
	sent := time.Now()
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	var sb strings.Builder
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		var f struct {
			Type, ConversationID, Text, Status, Message string
			Seq                                         int
		}
		if err := json.Unmarshal(msg, &f); err != nil {
			return err
		}
		switch f.Type {
		case "turn":
			var t struct {
				ConversationID string `json:"conversation_id"`
			}
			json.Unmarshal(msg, &t)
			r.conv, r.started = t.ConversationID, now.Sub(sent)
		case "delta":
			if f.Seq <= len(r.arrived) {
				return fmt.Errorf("delta seq %d after %d", f.Seq, len(r.arrived))
			}
			// A frame may carry several deltas: each arrived now.
			for len(r.arrived) < f.Seq {
				r.arrived = append(r.arrived, now)
			}
			sb.WriteString(f.Text)
		case "done":
			r.text, r.status = sb.String(), f.Status
			conn.Close(websocket.StatusNormalClosure, "")
			return nil
		case "error":
			return fmt.Errorf("error frame: %s", f.Message)
		}
	}
}

// stopServes stops the serve processes still running, as serve is
// stopped (an interrupt), and returns the CPU time they used, all told.
func stopServes(serves []*exec.Cmd) time.Duration {
	var cpu time.Duration
	for _, cmd := range serves {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return cpu
}

// build builds claudebridge into dir.
func build(dir string) (string, error) {
	bin := filepath.Join(dir, "claudebridge")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/claudebridge").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
}

// startServe starts bin's `serve` on a free loopback port in local mode,
// on the emulator at upstream, with its database at database.
func startServe(bin, upstream, database string) (*exec.Cmd, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Env = append(os.Environ(), "AI_PROVIDER=anthropic", "ANTHROPIC_BASE_URL="+upstream, "ANTHROPIC_API_KEY=k",
		"DATABASE_URL="+database, "ANTHROPIC_MODEL_ID=claude-sonnet-4-5-20250929", "LOG_LEVEL=warn",
		"CHAT_TURNS_PER_USER=1000000") // every turn is the one local user's
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd, url, nil
		}
	}
	cmd.Process.Kill()
	return nil, "", fmt.Errorf("claudebridge serve did not start on %s", addr)
}
