package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// With -ops every scenario also runs through a second gateway of the same
// upstream with its operations on: the client's key is a virtual key with
// limits (requests, tokens and calls in flight, each far above the load, so
// that every call is admitted and counted), ADMIN_KEY makes it collect
// metrics, and its ledger is written. Both gateways' CPU per call is printed
// side by side. The gateway as run without -ops has LEDGER=off and API_KEYS,
// so the difference is all of the operations: the key's lookup and limits,
// the metrics and the ledger.

// opsGateways are the gateways with their operations on. They share one
// database of their own, which holds the key and their ledger.
type opsGateways struct {
	bin, key  string
	env       []string // the settings that turn the operations on
	procs     []*exec.Cmd
	addrs     []string
	completed int // calls wrk completed through them
}

const (
	opsAdminKey = "loadtest-admin"
	opsRPM      = "1000000" // the key's requests per minute
)

// startOps makes the database and, with the CLI of the binary under test,
// the virtual key of the gateways with their operations on.
// database is their DATABASE_URL; "" is a SQLite file in dir.
func startOps(bin, dir, database string) (*opsGateways, error) {
	if database == "" {
		database = filepath.Join(dir, "ops.db")
	}
	o := &opsGateways{bin: bin, env: []string{"DATABASE_URL=" + database, "API_KEYS=", "ADMIN_KEY=" + opsAdminKey, "LEDGER=on"}}
	cmd := exec.Command(bin, "keys", "create", "--name", "load", "--rpm", opsRPM, "--tpm", "1000000000", "--concurrency", "1000")
	cmd.Env = append(os.Environ(), o.env...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("keys create: %v", err)
	}
	o.key = strings.TrimSpace(string(out))
	return o, nil
}

// start serves a gateway with env and the operations on, at addr.
func (o *opsGateways) start(env []string, addr string) *exec.Cmd {
	cmd := start(o.bin, slices.Concat(env, o.env), "serve", "--listen", addr)
	o.procs, o.addrs = append(o.procs, cmd), append(o.addrs, addr)
	return cmd
}

func (o *opsGateways) stop() {
	for _, p := range o.procs {
		stop(p)
	}
}

// limited fails unless a call of body to the gateway at addr with the key
// is answered 200 with the key's request limit in
// anthropic-ratelimit-requests-limit: the limits are being kept.
func (o *opsGateways) limited(addr, body string) error {
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/messages", strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", o.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("anthropic-ratelimit-requests-limit"); resp.StatusCode != http.StatusOK || got != opsRPM {
		return fmt.Errorf("the gateway with its operations on answered %s with anthropic-ratelimit-requests-limit %q, want 200 and %s", resp.Status, got, opsRPM)
	}
	o.completed++
	return nil
}

// check stops the gateways (which writes out their ledgers) and fails
// unless their metrics and their ledger hold the calls wrk completed.
func (o *opsGateways) check() error {
	counted := 0
	for _, a := range o.addrs {
		n, err := requestsOfKey(a, "load")
		if err != nil {
			return err
		}
		counted += n
	}
	o.stop()
	cmd := exec.Command(o.bin, "usage", "--by", "key")
	cmd.Env = append(os.Environ(), o.env...)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("usage: %v", err)
	}
	rows := callsOfKey(string(out), "load")
	fmt.Printf("operations on: wrk completed %d calls with key load; the metrics counted %d, the ledger holds %d rows\n", o.completed, counted, rows)
	if counted < o.completed || rows < o.completed {
		return errors.New("the metrics or the ledger missed calls")
	}
	return nil
}

// callsOfKey reads a key's calls from the table of `claudebridge usage
// --by key` (0 when the key has none).
func callsOfKey(table, key string) int {
	for line := range strings.Lines(table) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == key {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// requestsOfKey sums claudebridge_requests_total of a key on a gateway's
// /metrics.
func requestsOfKey(addr, key string) (int, error) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+opsAdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s/metrics: %s", addr, resp.Status)
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "claudebridge_requests_total{") && strings.Contains(line, `key="`+key+`"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				return 0, fmt.Errorf("%s/metrics: %q: %v", addr, line, err)
			}
			n += int(v)
		}
	}
	return n, sc.Err()
}

// opsLine is a scenario of the -ops table: the gateway as run without -ops
// and the one with its operations on.
type opsLine struct {
	scenario string
	gw, ops  result
}

// printOps prints the -ops table under a scenario table whose first
// columns are head.
func printOps(head string, lines []opsLine) {
	fmt.Printf("\nwith operations on (-ops): a virtual key with limits, metrics (ADMIN_KEY), the ledger\n")
	fmt.Printf("%s  %11s %12s %10s  %8s %8s  %10s %10s  %s\n", head, "gw CPU/call", "ops CPU/call", "difference",
		"gw rps", "ops rps", "gw p50", "ops p50", "errors gw/ops")
	for _, l := range lines {
		gw, ops := cpuPerCall(l.gw), cpuPerCall(l.ops)
		fmt.Printf("%s  %11s %12s %10s  %8.0f %8.0f  %10s %10s  %d/%d\n", l.scenario, gw, ops, ops-gw,
			l.gw.rps, l.ops.rps, l.gw.p50, l.ops.p50, l.gw.errors, l.ops.errors)
	}
}

// cpuPerCall is the gateway's CPU per completed call during a load.
func cpuPerCall(r result) time.Duration {
	return (r.cpu / time.Duration(max(r.completed, 1))).Round(time.Microsecond)
}
