// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb
// and pg_ctl from Debian's postgresql package (or any on PATH), in a
// temporary directory, listening only on a Unix socket there. One cluster
// serves a test binary; each caller of URL gets a new empty store.
//
// Without the binaries the tests skip, saying so, unless
// CLAUDEBRIDGE_PG_TESTS=required (CI sets it), where they fail.
//
// A package whose tests use it stops the cluster in TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	once    sync.Once
	cluster *Cluster
	failure error
	dbs     atomic.Int64
)

// Cluster is a running throwaway cluster.
type Cluster struct {
	dir    string // holds data/, the socket and the log
	bin    string // the directory of initdb, pg_ctl and postgres
	runAs  []string
	Socket string // the directory of the Unix socket
}

// Main runs the tests of m and then stops the cluster if one was started.
func Main(m *testing.M) int {
	defer Stop()
	return m.Run()
}

// Stop stops the test binary's cluster if one was started: for a TestMain
// that cannot use Main.
func Stop() {
	if cluster != nil {
		cluster.Stop()
	}
}

// URL returns the URL of a new empty store on the test binary's cluster,
// starting it on first use: a schema of its own in one shared database,
// named by the URL's search_path (a schema costs a millisecond, a database
// half a second). It skips t (or fails it when
// CLAUDEBRIDGE_PG_TESTS=required) when no PostgreSQL is installed.
func URL(t testing.TB) string {
	t.Helper()
	c := Start(t)
	sharedOnce.Do(func() { sharedErr = c.exec("postgres", `CREATE DATABASE `+shared) })
	if sharedErr != nil {
		t.Fatalf("pgtest: creating the shared database: %v", sharedErr)
	}
	schema := fmt.Sprintf("s%d", dbs.Add(1))
	if err := c.exec(shared, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("pgtest: creating schema: %v", err)
	}
	return c.url(shared) + "&search_path=" + schema
}

// Database returns the URL of a new empty database, for a test that needs
// one of its own (another collation, database-wide state).
func Database(t testing.TB) string {
	t.Helper()
	c := Start(t)
	name := fmt.Sprintf("d%d", dbs.Add(1))
	if err := c.exec("postgres", `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	return c.url(name)
}

// shared is the database the schemas of URL are made in.
const shared = "claudebridge_tests"

var (
	sharedOnce sync.Once
	sharedErr  error
)

// exec runs one statement on database db of the cluster.
func (c *Cluster) exec(db, statement string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, statement)
	return err
}

// Start returns the test binary's cluster, starting it on first use.
func Start(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { cluster, failure = start() })
	if errors.Is(failure, errNoPostgres) {
		if os.Getenv("CLAUDEBRIDGE_PG_TESTS") == "required" {
			t.Fatalf("pgtest: %v, and CLAUDEBRIDGE_PG_TESTS=required", failure)
		}
		t.Skipf("pgtest: %v: install Debian's postgresql package to run these tests", failure)
	}
	if failure != nil {
		t.Fatalf("pgtest: %v", failure)
	}
	return cluster
}

// url is the URL of database name on the cluster, through its socket.
func (c *Cluster) url(name string) string {
	return "postgres:///" + name + "?host=" + c.Socket + "&user=postgres&sslmode=disable"
}

var errNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl) found")

func start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "claudebridge-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, Socket: dir}
	// PostgreSQL refuses to run as root: as root, it runs as the
	// postgres user the package made, in a directory that user owns.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// Durability is worth nothing to a throwaway cluster; speed is.
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", dir)
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	return c, nil
}

// Stop stops the cluster at once and removes its directory.
func (c *Cluster) Stop() {
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
}

func (c *Cluster) run(tool string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, c.runAs...), filepath.Join(c.bin, tool)), args...)
	return exec.Command(argv[0], argv[1:]...).CombinedOutput()
}

// binDir finds the server binaries: the newest of Debian's
// /usr/lib/postgresql/N/bin, else initdb's directory on PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errNoPostgres
}

// version is N of /usr/lib/postgresql/N/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}
