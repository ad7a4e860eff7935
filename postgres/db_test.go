package postgres

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open returns a new store on a new empty database, closed by t.Cleanup.
func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTenProcessesStartingAtOnceMigrateOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(context.Background(), url)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
	}
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied, latest int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&applied, &latest); err != nil {
		t.Fatal(err)
	}
	if got, want := applied, len(migrations); got != want {
		t.Errorf("migrations recorded: %d, want %d (each once)", got, want)
	}
	if got, want := latest, len(migrations); got != want {
		t.Errorf("latest migration: %d, want %d", got, want)
	}
}

func TestAnUnparsableURLIsRefusedWithoutQuotingIt(t *testing.T) {
	_, err := Open(t.Context(), "postgres://user:s3cret@host:notaport/db")
	if err == nil {
		t.Fatal("Open: no error")
	}
	if got := err.Error(); strings.Contains(got, "s3cret") {
		t.Errorf("error quotes the password: %q", got)
	}
}

func TestTheLimitsCountersCommitWithoutWaitingForTheDiskAndTheRestDurably(t *testing.T) {
	// The test cluster commits asynchronously throughout; the URL asks
	// for durable commits, as a real server's default is.
	db, err := Open(t.Context(), pgtest.URL(t)+"&synchronous_commit=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		pool interface {
			QueryRow(context.Context, string, ...any) pgx.Row
		}
		want string
	}{{"counters", db.counters, "off"}, {"pool", db.pool, "on"}} {
		var got string
		if err := c.pool.QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("synchronous_commit on %s: %q, want %q", c.name, got, c.want)
		}
	}
}
