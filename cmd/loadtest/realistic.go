package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/sjson"

	"github.com/claudebridge/claudebridge/internal/claudecode"
	"github.com/claudebridge/claudebridge/models"
)

// The realistic scenarios send what Claude Code sends (package claudecode:
// a long cached system prompt, dozens of tools with JSON schemas, a long
// history of tool use with signed thinking) through both upstreams, for a
// model of every family on Bedrock (with and without drop rules), and
// report, besides latency, the gateway's own CPU per call: the figure that
// grows with the body.

// realisticGateways are the gateways of the realistic scenarios, each in
// front of an emulator of its upstream, and a bare proxy in front of each
// emulator: the CPU that moving the same bytes through any Go proxy costs.
type realisticGateways struct {
	anthropicDirect, anthropicProxy, anthropicGateway string
	bedrockDirect, bedrockProxy, bedrockGateway       string
	converseGateway                                   string
	pids                                              map[string]int // proxy or gateway address → process
	ops                                               *opsGateways   // nil without -ops
	opsGateways                                       map[string]string
}

// startRealistic starts the Bedrock emulator, its bare proxy and its
// gateways, and with ops theirs with the operations on (anthropicOps is the
// Anthropic one's, already running, as are its proxy and gateway).
func startRealistic(bin, dbDir, anthropicDirect, anthropicProxy string, anthropicProxyPid int, anthropicGateway string, anthropicPid int, ops *opsGateways, anthropicOps string) (*realisticGateways, func(), error) {
	g := &realisticGateways{anthropicDirect: anthropicDirect, anthropicProxy: anthropicProxy, anthropicGateway: anthropicGateway,
		bedrockDirect: freeAddr(), bedrockGateway: freeAddr(), converseGateway: freeAddr(),
		pids: map[string]int{anthropicProxy: anthropicProxyPid, anthropicGateway: anthropicPid}, ops: ops}
	emu := start(bin, nil, "emulate", "bedrock", "--listen", g.bedrockDirect)
	var proxy *exec.Cmd
	g.bedrockProxy, proxy = startBareProxy(g.bedrockDirect, 50)
	g.pids[g.bedrockProxy] = proxy.Process.Pid
	aws := []string{"AI_PROVIDER=bedrock", "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDLOADTEST", "AWS_SECRET_ACCESS_KEY=loadtest-secret",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://" + g.bedrockDirect, "AWS_ENDPOINT_URL_BEDROCK=http://" + g.bedrockDirect,
		"API_KEYS=" + gatewayKey, "LEDGER=off", "LOG_LEVEL=" + or(os.Getenv("LOG_LEVEL"), "warn")}
	invokeEnv, converseEnv := aws, slices.Concat(aws, []string{"BEDROCK_API=converse"})
	invoke := start(bin, slices.Concat(invokeEnv, []string{"DATABASE_URL=" + filepath.Join(dbDir, "bedrock.db")}), "serve", "--listen", g.bedrockGateway)
	converse := start(bin, slices.Concat(converseEnv, []string{"DATABASE_URL=" + filepath.Join(dbDir, "converse.db")}), "serve", "--listen", g.converseGateway)
	g.pids[g.bedrockGateway], g.pids[g.converseGateway] = invoke.Process.Pid, converse.Process.Pid
	stopAll := func() { stop(converse); stop(invoke); stop(proxy); stop(emu) }
	if ops != nil {
		g.opsGateways = map[string]string{"anthropic": anthropicOps, "bedrock": freeAddr(), "converse": freeAddr()}
		ops.start(invokeEnv, g.opsGateways["bedrock"])
		ops.start(converseEnv, g.opsGateways["converse"])
		for i, a := range ops.addrs {
			g.pids[a] = ops.procs[i].Process.Pid
		}
	}
	for _, a := range []string{g.bedrockProxy, g.bedrockGateway, g.converseGateway, g.opsGateways["bedrock"], g.opsGateways["converse"]} {
		if a == "" {
			continue
		}
		if err := waitListening(a); err != nil {
			stopAll()
			return nil, nil, err
		}
	}
	return g, stopAll, nil
}

// realisticModels are a model of every family the Bedrock table knows, the
// 4.5 family's (which have drop rules) first.
var realisticModels = []string{"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-6", "claude-opus-4-7", "claude-sonnet-5", "claude-sonnet-5-5"}

type realisticScenario struct {
	upstream string // anthropic, bedrock (InvokeModel), converse
	model    string
	size     int
	stream   bool
	conns    int
}

func (g *realisticGateways) run(dir string, sizes []int, conns int, duration time.Duration, rounds int) error {
	var scenarios []realisticScenario
	for _, size := range sizes {
		for _, stream := range []bool{false, true} {
			scenarios = append(scenarios, realisticScenario{"anthropic", "claude-sonnet-4-5", size, stream, 1})
			for _, m := range realisticModels {
				scenarios = append(scenarios, realisticScenario{"bedrock", m, size, stream, 1})
			}
			scenarios = append(scenarios, realisticScenario{"converse", "claude-sonnet-4-5", size, stream, 1})
		}
		for _, up := range []string{"anthropic", "bedrock"} {
			scenarios = append(scenarios, realisticScenario{up, "claude-sonnet-4-5", size, true, conns})
		}
	}
	fmt.Printf("\nrealistic bodies (package claudecode); direct is the emulator of the upstream (InvokeModel for converse),\n" +
		"proxy the bare proxy in front of it with the body the emulator takes: the CPU of moving the same bytes\n")
	fmt.Printf("%-9s %-18s %7s %6s %5s  %10s %11s %10s %9s  %8s  %14s %11s %9s  %s\n", "upstream", "model", "body", "stream", "conns",
		"direct p50", "proxy added", "gw p50", "gw added", "gw rps", "proxy CPU/call", "gw CPU/call", "gw-proxy", "errors d/p/gw")
	failed := false
	var opsLines []opsLine
	for _, s := range scenarios {
		direct, gateway, ops, err := g.targets(dir, s)
		if err != nil {
			return err
		}
		proxy := g.throughProxy(s, direct)
		var rd, rp, rg, ro []result
		var added, proxyAdded []time.Duration
		each := duration / time.Duration(rounds)
		if s.conns > 1 {
			each = max(each, 15*time.Second) // fifty calls of hundreds of KB take seconds each
		}
		for range rounds {
			d, err := wrkScript(direct, "", s.conns, each)
			if err != nil {
				return err
			}
			p, err := wrkScript(proxy, "", s.conns, each)
			if err != nil {
				return err
			}
			gw, err := wrkScript(gateway, "", s.conns, each)
			if err != nil {
				return err
			}
			rd, rp, rg = append(rd, d), append(rp, p), append(rg, gw)
			added, proxyAdded = append(added, gw.p50-d.p50), append(proxyAdded, p.p50-d.p50)
			if g.ops != nil {
				o, err := wrkScript(ops, "", s.conns, each)
				if err != nil {
					return err
				}
				ro = append(ro, o)
			}
		}
		d, p, gw := combine(rd), combine(rp), combine(rg)
		fmt.Printf("%-9s %-18s %6dK %6v %5d  %10s %11s %10s %9s  %8.0f  %14s %11s %9s  %d/%d/%d\n", s.upstream, s.model, s.size>>10, s.stream, s.conns,
			d.p50, median(proxyAdded).Round(time.Microsecond), gw.p50, median(added).Round(time.Microsecond), gw.rps, cpuPerCall(p), cpuPerCall(gw), cpuPerCall(gw)-cpuPerCall(p), d.errors, p.errors, gw.errors)
		if gw.errors > 0 {
			failed = true
		}
		if g.ops != nil {
			o := combine(ro)
			opsLines = append(opsLines, opsLine{fmt.Sprintf("%-9s %-18s %6dK %6v %5d", s.upstream, s.model, s.size>>10, s.stream, s.conns), gw, o})
			g.ops.completed += o.completed
			failed = failed || o.errors > 0
		}
	}
	for _, a := range []string{g.anthropicGateway, g.bedrockGateway, g.converseGateway} {
		rss, err := peakRSS(g.pids[a])
		if err != nil {
			return err
		}
		fmt.Printf("peak RSS of the gateway at %s: %.1f MB\n", a, float64(rss)/(1<<20))
	}
	if g.ops != nil {
		printOps(fmt.Sprintf("%-9s %-18s %7s %6s %5s", "upstream", "model", "body", "stream", "conns"), opsLines)
	}
	if failed {
		return errors.New("some realistic requests failed")
	}
	return nil
}

// target is one wrk load: where, with which request, and the process whose
// CPU it measures (0 for none).
type target struct {
	addr, path, script string
	pid                int
}

// targets writes the wrk scripts of a scenario: the body the gateway gets
// (Claude Code's), to the gateway and, with -ops, to the one with the
// operations on, and the one its upstream's emulator gets directly (the
// Bedrock InvokeModel body, for Bedrock).
func (g *realisticGateways) targets(dir string, s realisticScenario) (direct, gateway, ops target, err error) {
	body := claudecode.Body(claudecode.Shape{Size: s.size, Model: s.model, NoStream: !s.stream})
	name := fmt.Sprintf("%s-%s-%d-%v", s.upstream, s.model, s.size, s.stream)
	anthropicHeaders := func(key string) map[string]string {
		return map[string]string{"anthropic-version": "2023-06-01", "x-api-key": key,
			"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"}
	}
	gwAddr := map[string]string{"anthropic": g.anthropicGateway, "bedrock": g.bedrockGateway, "converse": g.converseGateway}[s.upstream]
	gateway = target{addr: gwAddr, path: "/v1/messages", pid: g.pids[gwAddr]}
	if gateway.script, err = wrkFile(dir, name+"-gw", body, anthropicHeaders(gatewayKey)); err != nil {
		return
	}
	if g.ops != nil {
		addr := g.opsGateways[s.upstream]
		ops = target{addr: addr, path: "/v1/messages", pid: g.pids[addr]}
		if ops.script, err = wrkFile(dir, name+"-ops", body, anthropicHeaders(g.ops.key)); err != nil {
			return
		}
	}
	if s.upstream == "anthropic" {
		direct = target{addr: g.anthropicDirect, path: "/v1/messages"}
		direct.script, err = wrkFile(dir, name+"-direct", body, anthropicHeaders(gatewayKey))
		return
	}
	// Bedrock's InvokeModel body: no model or stream, Bedrock's version (and
	// no betas, which some models refuse and the gateway learns to leave
	// out); called by the model's US profile, as the gateway does.
	b, _ := sjson.DeleteBytes(body, "model")
	b, _ = sjson.DeleteBytes(b, "stream")
	b, _ = sjson.SetBytes(b, "anthropic_version", "bedrock-2023-05-31")
	op := "invoke"
	if s.stream {
		op = "invoke-with-response-stream"
	}
	id, ok := usProfile(s.model)
	if !ok {
		return direct, gateway, ops, fmt.Errorf("no Bedrock profile known for %s", s.model)
	}
	direct = target{addr: g.bedrockDirect, path: "/model/" + strings.ReplaceAll(id, ":", "%3A") + "/" + op}
	direct.script, err = wrkFile(dir, name+"-direct", b, map[string]string{"authorization": "Bearer loadtest"})
	return
}

// throughProxy is the direct target t through the bare proxy in front of
// the scenario's emulator.
func (g *realisticGateways) throughProxy(s realisticScenario, t target) target {
	t.addr = g.bedrockProxy
	if s.upstream == "anthropic" {
		t.addr = g.anthropicProxy
	}
	t.pid = g.pids[t.addr]
	return t
}

// usProfile is the US inference profile the gateway calls a model by in
// us-east-1, from the model table.
func usProfile(model string) (string, bool) {
	m, ok := models.Lookup(model)
	if !ok || !m.HasGeo("us") {
		return "", false
	}
	return "us." + m.Bedrock.ID, true
}

// wrkFile writes a body and a wrk script that posts it with headers.
func wrkFile(dir, name string, body []byte, headers map[string]string) (string, error) {
	bodyPath := filepath.Join(dir, name+".json")
	if err := os.WriteFile(bodyPath, body, 0o600); err != nil {
		return "", err
	}
	var lua strings.Builder
	fmt.Fprintf(&lua, "local f = io.open(%q, \"rb\")\nwrk.body = f:read(\"*a\")\nf:close()\nwrk.method = \"POST\"\n", bodyPath)
	lua.WriteString("wrk.headers[\"content-type\"] = \"application/json\"\n")
	for k, v := range headers {
		fmt.Fprintf(&lua, "wrk.headers[%q] = %q\n", k, v)
	}
	script := filepath.Join(dir, name+".lua")
	return script, os.WriteFile(script, []byte(lua.String()), 0o600)
}

// cpuTime is the CPU a process has used, user and system: the sum of its
// threads' run time in nanoseconds (/proc/PID/task/*/schedstat), since 80
// calls of 4 ms measured in 10 ms ticks are off by 0.1 ms a call; a Go
// process's threads live as long as it does. Without schedstat (a kernel
// without CONFIG_SCHED_INFO), /proc/PID/stat's ticks.
func cpuTime(pid int) (time.Duration, error) {
	if tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid)); err == nil && len(tasks) > 0 {
		var sum time.Duration
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue // the thread ended between the listing and the read
			}
			ns, err := strconv.ParseInt(strings.Fields(string(b) + " x")[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %v", t, err)
			}
			sum += time.Duration(ns)
		}
		return sum, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
