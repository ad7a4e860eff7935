package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/redact"
	"github.com/claudebridge/claudebridge/migrate"
)

const migrateUsage = `Usage: claudebridge migrate --from URL --to URL

Copies every user (with its password hash and live sessions), prompt,
conversation and message, virtual key, Message Batch and ledger row from one
store to another (typically from the embedded SQLite file to PostgreSQL when
several serve processes are to share one database), then verifies the copy:
for each kind of record, the count and a SHA-256 of the contents on both
sides, which must agree. Records the destination holds already (same ID) are
left as they are, so it can be run again after an interruption. Stop serve
on the source first: what is written during the copy may be missed.

A URL is what DATABASE_URL takes: a file path, sqlite:///path,
postgres://user@host/db (the PG* variables fill what it leaves out) or
dynamodb://TABLE_PREFIX (the AWS default chain; ?create=true makes the tables).

Flags:
`

// migrateCommand copies one store into another and verifies the copy.
func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fromURL := fs.String("from", "", "the store to copy from")
	toURL := fs.String("to", "", "the store to copy into")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), migrateUsage)
		fs.PrintDefaults()
	}
	if helped, err := parseFlags(fs, args, stdout, stderr); helped || err != nil {
		return err
	}
	if *fromURL == "" || *toURL == "" || fs.NArg() > 0 {
		fs.SetOutput(stderr)
		fs.Usage()
		return errors.New("migrate: --from and --to are both needed, and nothing else")
	}
	from, err := openMigrateStore(ctx, *fromURL, "--from")
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := openMigrateStore(ctx, *toURL, "--to")
	if err != nil {
		return err
	}
	defer to.Close()
	began := time.Now()
	n, err := migrate.Copy(ctx, from, to)
	if err != nil {
		return fmt.Errorf("migrate: copied %d records, then: %w", n, err)
	}
	fmt.Fprintf(stderr, "copied %d records from %s to %s in %s; verifying\n", n, redact.URL(*fromURL), redact.URL(*toURL),
		time.Since(began).Round(time.Millisecond))
	want, err := migrate.Digests(ctx, from)
	if err != nil {
		return fmt.Errorf("migrate: reading the source back: %w", err)
	}
	got, err := migrate.Digests(ctx, to)
	if err != nil {
		return fmt.Errorf("migrate: reading the copy back: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSOURCE\tCOPY\tSHA-256\tSAME")
	for _, kind := range migrate.Kinds {
		same := "yes"
		if want[kind] != got[kind] {
			same = "NO"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", kind, want[kind].Count, got[kind].Count, want[kind].Sum[:16], same)
	}
	tw.Flush()
	if err := migrate.Compare(want, got); err != nil {
		return fmt.Errorf("migrate: %w (records the destination had before are counted too)", err)
	}
	return nil
}

// openMigrateStore opens one side of a migration; flag names it in errors.
func openMigrateStore(ctx context.Context, u, flag string) (claudebridge.Store, error) {
	loc, err := databaseLocation(u, func(string) string { return "" })
	if err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", flag, err)
	}
	s, err := openStore(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("migrate: %s %s: %w", flag, redact.URL(u), err)
	}
	return s, nil
}
