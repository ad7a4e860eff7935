package e2e

import (
	"github.com/claudebridge/claudebridge/internal/dynalitetest"
	"github.com/claudebridge/claudebridge/internal/pgtest"

	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The keys and credentials of the test servers. They are made up for the
// tests; none is a real secret.
const (
	gatewayKey      = "cb-e2e-gateway-key"
	upstreamAPIKey  = "sk-ant-e2e-upstream-key"
	awsKeyID        = "AKIDE2ECLAUDEBRIDGE"
	awsSecret       = "e2e-claudebridge-secret"
	awsRegion       = "us-east-1"
	corsOrigin      = "http://app.example.test"
	adminKey        = "e2e-admin-key" // ADMIN_KEY of the keys gateway
	retryAttempts   = "2"             // RETRY_MAX_ATTEMPTS of the gateways: [[throttle*1]] succeeds, [[throttle]] does not
	startupDeadline = 30 * time.Second
)

// Addresses of the servers TestMain started, as http://host:port.
var (
	bedrockEmulatorURL   string
	anthropicEmulatorURL string
	bedrockGatewayURL    string // AI_PROVIDER=bedrock, on the Bedrock emulator
	anthropicGatewayURL  string // AI_PROVIDER=anthropic, on the Anthropic emulator
	converseGatewayURL   string // AI_PROVIDER=bedrock with BEDROCK_API=converse, on the Bedrock emulator
	// keysGatewayURL is AI_PROVIDER=anthropic with ADMIN_KEY set and a
	// database of its own (keysDB), for the virtual keys the tests make
	// (keys_test.go, node/keys.test.mjs). It has API_KEYS too, so that a
	// key it has not read yet is refused rather than let in by an open door.
	keysGatewayURL string
	keysDB         string

	servers []*server
)

// gateway is one claudebridge serve under test and the model its tests ask
// for.
type gateway struct {
	name  string
	url   string
	model string
}

func gateways() []gateway {
	return []gateway{
		{name: "bedrock", url: bedrockGatewayURL, model: "claude-sonnet-4-5"},
		{name: "anthropic", url: anthropicGatewayURL, model: "claude-sonnet-4-5"},
	}
}

// eachGateway runs f as a subtest against every gateway.
func eachGateway(t *testing.T, f func(t *testing.T, gw gateway)) {
	for _, gw := range gateways() {
		t.Run(gw.name, func(t *testing.T) {
			t.Parallel()
			f(t, gw)
		})
	}
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "claudebridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer pgtest.Stop()       // after the servers that use it
	defer dynalitetest.Stop() // likewise
	defer stopAll()
	if err := startAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start-up failed:", err)
		for _, s := range servers {
			fmt.Fprintf(os.Stderr, "--- %s log:\n%s\n", s.name, s.log())
		}
		return 1
	}
	code := m.Run()
	if code != 0 || testing.Verbose() {
		for _, s := range servers {
			if tail := s.logTail(60); tail != "" {
				fmt.Fprintf(os.Stderr, "--- last lines of the %s log:\n%s\n", s.name, tail)
			}
		}
	}
	return code
}

// repoRoot is the module root, the parent of this package's folder.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// startAll builds claudebridge and starts both emulators and the gateways.
func startAll(dir string) error {
	bin := filepath.Join(dir, "claudebridge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/claudebridge")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/claudebridge: %v\n%s", err, out)
	}
	claudebridgeBin, tempDir = bin, dir // browser_test.go starts its chat servers with them
	var err error
	if bedrockEmulatorURL, err = start("bedrock emulator", bin, nil,
		"emulate", "bedrock", "--listen", "127.0.0.1:0", "--region", awsRegion,
		"--credentials", awsKeyID+":"+awsSecret); err != nil {
		return err
	}
	if anthropicEmulatorURL, err = start("anthropic emulator", bin, nil,
		"emulate", "anthropic", "--listen", "127.0.0.1:0", "--api-key", upstreamAPIKey); err != nil {
		return err
	}
	common := []string{
		"DATABASE_URL=" + filepath.Join(dir, "gateways.db"), // the chat's store, out of the user's home
		"API_KEYS=" + gatewayKey,
		"CORS_ALLOW_ORIGINS=" + corsOrigin,
		"RETRY_MAX_ATTEMPTS=" + retryAttempts,
		"LOG_LEVEL=debug",
	}
	if bedrockGatewayURL, err = start("bedrock gateway", bin, append(common,
		"AI_PROVIDER=bedrock",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+bedrockEmulatorURL,
		"AWS_ENDPOINT_URL_BEDROCK="+bedrockEmulatorURL,
		"AWS_ACCESS_KEY_ID="+awsKeyID,
		"AWS_SECRET_ACCESS_KEY="+awsSecret,
		"AWS_REGION="+awsRegion,
	), "serve", "--listen", "127.0.0.1:0"); err != nil {
		return err
	}
	if converseGatewayURL, err = start("converse gateway", bin, append(common,
		"AI_PROVIDER=bedrock",
		"BEDROCK_API=converse",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+bedrockEmulatorURL,
		"AWS_ENDPOINT_URL_BEDROCK="+bedrockEmulatorURL,
		"AWS_ACCESS_KEY_ID="+awsKeyID,
		"AWS_SECRET_ACCESS_KEY="+awsSecret,
		"AWS_REGION="+awsRegion,
	), "serve", "--listen", "127.0.0.1:0"); err != nil {
		return err
	}
	if anthropicGatewayURL, err = start("anthropic gateway", bin, append(common,
		"AI_PROVIDER=anthropic",
		"BEDROCK_ACCESS_KEYS="+awsKeyID+":"+awsSecret, // for e2e/node/bedrock-frontdoor.test.mjs
		"ANTHROPIC_BASE_URL="+anthropicEmulatorURL,
		"ANTHROPIC_API_KEY="+upstreamAPIKey,
	), "serve", "--listen", "127.0.0.1:0"); err != nil {
		return err
	}
	keysDB = filepath.Join(dir, "keys.db")
	if keysGatewayURL, err = start("keys gateway", bin, []string{
		"AI_PROVIDER=anthropic",
		"ANTHROPIC_BASE_URL=" + anthropicEmulatorURL,
		"ANTHROPIC_API_KEY=" + upstreamAPIKey,
		"DATABASE_URL=" + keysDB,
		"API_KEYS=" + gatewayKey,
		"ADMIN_KEY=" + adminKey,
		"LOG_LEVEL=debug",
	}, "serve", "--listen", "127.0.0.1:0"); err != nil {
		return err
	}
	return nil
}

// server is one child process and what it logged.
type server struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed, and replaced, when a line is logged
}

// waitLog waits until s has logged a line containing text; false if it
// exited first, or within passed.
func (s *server) waitLog(text string, within time.Duration) bool {
	deadline := time.After(within)
	for {
		s.mu.Lock()
		for _, line := range s.lines {
			if strings.Contains(line, text) {
				s.mu.Unlock()
				return true
			}
		}
		more := s.more
		s.mu.Unlock()
		select {
		case <-more:
		case <-s.done:
			return false
		case <-deadline:
			return false
		}
	}
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

func (s *server) logTail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := max(0, len(s.lines)-n)
	return strings.Join(s.lines[from:], "\n")
}

// logSince returns the lines logged after the first n, with the count now.
func (s *server) logSince(n int) ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines[min(n, len(s.lines)):]...), len(s.lines)
}

// addrLine finds the address in a start-up line, text or JSON.
var addrLine = regexp.MustCompile(`\baddr"?[=:]"?(http://[0-9.:\[\]a-z]+)`)

// start runs bin with args and env (on top of a clean environment), reads
// its start-up line for the address it listens on and waits until the
// address answers. The process is stopped by stopAll.
func start(name, bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.SysProcAttr = childAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("%s: %v", name, err)
	}
	s := &server{name: name, cmd: cmd, done: make(chan struct{}), more: make(chan struct{})}
	servers = append(servers, s)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.lines = append(s.lines, line)
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
			if m := addrLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	var url string
	select {
	case url = <-addr:
	case <-s.done:
		return "", fmt.Errorf("%s exited before it listened: %s", name, s.log())
	case <-time.After(startupDeadline):
		return "", fmt.Errorf("%s did not say where it listens within %s", name, startupDeadline)
	}
	// The emulators have no /healthz: any HTTP answer means they listen.
	deadline := time.Now().Add(startupDeadline)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || strings.Contains(name, "emulator") {
				return url, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s at %s is not healthy: %v", name, url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// baseEnv is the test's environment less every claudebridge setting, so
// that a developer's own credentials, endpoints or settings never reach the
// servers under test.
func baseEnv() []string {
	return withoutSettings(os.Environ(), readmeSettings())
}

// withoutSettings is environ less the variables named in settings and the
// families the AWS and Anthropic SDKs read (AWS_*, ANTHROPIC_*, BEDROCK_*),
// with the developer's shared AWS files and instance role shut off too.
func withoutSettings(environ, settings []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "ANTHROPIC_") || strings.HasPrefix(name, "BEDROCK_") ||
			slices.Contains(settings, name) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
}

// readmeSettings are the variables README's settings table names (its first
// column), read rather than copied so that a setting added there is kept
// from the servers under test without anyone remembering to. It panics if
// the table cannot be read: the servers would otherwise take the
// developer's settings.
var readmeSettings = sync.OnceValue(func() []string {
	names, err := settingsOf(filepath.Join("..", "README.md"))
	if err != nil {
		panic("e2e: README's settings table: " + err.Error())
	}
	return names
})

var settingName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// settingsOf reads the names in the first column of the table under the
// "## Settings" heading of the Markdown file at path.
func settingsOf(path string) ([]string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, section, ok := strings.Cut(string(text), "\n## Settings\n")
	if !ok {
		return nil, fmt.Errorf("%s has no \"## Settings\" section", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var names []string
	for line := range strings.Lines(section) {
		cells := strings.SplitN(line, "|", 3)
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue // not a table row
		}
		for _, m := range settingName.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no variable in the settings table", path)
	}
	return names, nil
}

// stopAll stops every server: SIGTERM to its process group, SIGKILL after
// five seconds.
func stopAll() {
	for _, s := range servers {
		if s.cmd.Process != nil {
			_ = termGroup(s.cmd)
		}
	}
	for _, s := range servers {
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = killGroup(s.cmd)
			<-s.done
		}
	}
}

// serverNamed returns the server of that name.
func serverNamed(name string) *server {
	for _, s := range servers {
		if s.name == name {
			return s
		}
	}
	return nil
}

// nonce makes a prompt unique to one test run, so that the emulators'
// counted faults ([[throttle*1]]) and prompt cache never see it twice.
func nonce(t *testing.T) string {
	return fmt.Sprintf("(%s %d)", t.Name(), time.Now().UnixNano())
}

// ctxFor bounds one test's calls.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
