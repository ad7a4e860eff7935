// Package dynalitetest starts dynalite (npm: DynamoDB's API on LevelDB, in
// memory) for tests: one server per test binary, from e2e/node's packages
// (make node-deps installs them). Each caller of URL gets a table prefix of
// its own, so stores do not see each other's tables.
//
// Without node or the package the tests skip, saying so, unless
// CLAUDEBRIDGE_NODE_TESTS=required (make test sets it), where they fail.
//
// A package whose tests use it stops the server in TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }
package dynalitetest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	once     sync.Once
	server   *exec.Cmd
	endpoint string
	failure  error
	prefixes atomic.Int64
)

// Main runs the tests of m and then stops dynalite if it was started.
func Main(m *testing.M) int {
	defer Stop()
	return m.Run()
}

// Stop stops dynalite if it was started: for a TestMain that cannot use
// Main.
func Stop() {
	if server != nil {
		server.Process.Kill()
		server.Wait()
	}
}

// Endpoint returns dynalite's URL, starting it on first use, and sets
// AWS_ENDPOINT_URL_DYNAMODB to it, with fake credentials and a region in
// the environment when none are set: dynalite checks that requests are
// signed, not by whom.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() { endpoint, failure = start() })
	if errors.Is(failure, errNoDynalite) {
		if os.Getenv("CLAUDEBRIDGE_NODE_TESTS") == "required" {
			t.Fatalf("dynalitetest: %v, and CLAUDEBRIDGE_NODE_TESTS=required", failure)
		}
		t.Skipf("dynalitetest: %v: run `make node-deps` to run these tests", failure)
	}
	if failure != nil {
		t.Fatalf("dynalitetest: %v", failure)
	}
	return endpoint
}

// URL returns a DATABASE_URL of a new empty store on dynalite,
// dynamodb://PREFIX?create=true (the store makes its tables), with the
// process's AWS_ENDPOINT_URL_DYNAMODB pointed at dynalite.
func URL(t testing.TB) string {
	t.Helper()
	Endpoint(t)
	return fmt.Sprintf("dynamodb://t%d-%d?create=true", os.Getpid(), prefixes.Add(1))
}

var errNoDynalite = errors.New("no dynalite (node and e2e/node/node_modules/dynalite)")

// listening is dynalite's start-up line.
var listening = regexp.MustCompile(`listening at: (http://\S+)`)

func start() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errNoDynalite
	}
	_, file, _, _ := runtime.Caller(0)
	cli := filepath.Join(filepath.Dir(file), "..", "..", "e2e", "node", "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", errNoDynalite
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	// No delays: a table is ACTIVE as soon as it is made.
	cmd := exec.Command(node, cli, "--port", fmt.Sprint(port), "--host", "127.0.0.1",
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case url := <-found:
		server = cmd
		// The AWS SDK's own conventions point the store at dynalite.
		os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
		for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "dynalite", "AWS_SECRET_ACCESS_KEY": "dynalite"} {
			if os.Getenv(k) == "" {
				os.Setenv(k, v)
			}
		}
		return url, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return "", errors.New("dynalite did not start within 20 s")
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
