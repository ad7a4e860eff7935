package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/redact"
	"github.com/claudebridge/claudebridge/ledger"
)

const keysUsage = `Usage:
  claudebridge keys create --name NAME [--rpm N] [--tpm N] [--concurrency N]
                           [--budget-usd X --period day|month]
                           [--max-cost-per-request X] [--models a,b]
                                make a virtual key and print it, once: only its
                                hash is kept
  claudebridge keys list        list the keys: name, prefix, limits, what each
                                spent this period (its budget's, else this
                                month, UTC), created, revoked
  claudebridge keys revoke NAME revoke a key; a running serve refuses it within
                                a second

Limits are per key and per minute; zero or unset means none. --rpm counts
requests, --tpm input and output tokens, --concurrency calls and streams in
flight. --max-cost-per-request refuses, before anything is sent, a call whose
worst case (its input estimated, plus max_tokens of output, at the model's
price) costs more, in US dollars. --models restricts the model ids the key may
call. --budget-usd stops a key's spending at that many US dollars per UTC day
or month, as the ledger counts it: a call that could pass it (its worst case
reserved while it runs) is refused with 400 invalid_request_error.

The database is DATABASE_URL's (default: claudebridge.db in the user's data
directory), the one serve reads its keys from.
`

// keys manages the virtual keys in the database serve uses.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: no command given")
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fmt.Fprint(stdout, keysUsage)
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+cmd, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), keysUsage) }
	var k claudebridge.Key
	var models string
	if cmd == "create" {
		fs.StringVar(&k.Name, "name", "", "the key's name")
		fs.IntVar(&k.RPM, "rpm", 0, "requests per minute")
		fs.IntVar(&k.TPM, "tpm", 0, "input and output tokens per minute")
		fs.IntVar(&k.Concurrency, "concurrency", 0, "calls and streams in flight")
		fs.Float64Var(&k.BudgetUSD, "budget-usd", 0, "spending limit per period, US dollars")
		fs.StringVar(&k.BudgetPeriod, "period", "", "the budget's period: day or month")
		fs.Float64Var(&k.MaxCostPerRequest, "max-cost-per-request", 0, "largest worst-case cost of one call, US dollars")
		fs.StringVar(&models, "models", "", "model ids the key may call, comma-separated")
	}
	if helped, err := parseFlags(fs, args, stdout, stderr); helped || err != nil {
		return err
	}
	k.Models = list(models)
	path, err := databasePath(os.Getenv)
	if err != nil {
		return err
	}
	open := func() (claudebridge.KeyService, func() error, error) {
		db, err := openStore(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}
	switch {
	case cmd == "create" && fs.NArg() == 0:
		if err := k.Validate(); err != nil {
			return fmt.Errorf("keys create: %s", claudebridge.ErrorMessage(err))
		}
		store, closeDB, err := open()
		if err != nil {
			return err
		}
		defer closeDB()
		secret, prefix, hash := claudebridge.NewKeySecret()
		k.Prefix, k.Hash = prefix, hash
		if err := store.CreateKey(ctx, &k); err != nil {
			return fmt.Errorf("keys create: %s", claudebridge.ErrorMessage(err))
		}
		// The secret alone on stdout, for scripts; the rest on stderr.
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "key %s made in %s; it is shown this once\n", k.Name, redact.URL(path))
		return nil
	case cmd == "list" && fs.NArg() == 0:
		db, err := openStore(ctx, path)
		if err != nil {
			return err
		}
		defer db.Close()
		list, err := db.Keys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tPREFIX\tLIMITS\tSPENT\tCREATED\tREVOKED")
		now := time.Now()
		for _, k := range list {
			revoked := "-"
			if k.Revoked() {
				revoked = k.RevokedAt.Local().Format("2006-01-02 15:04")
			}
			spent, err := db.SpentByKey(ctx, k.Name, ledger.PeriodStart(k.BudgetPeriod, now))
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\n", k.Name, k.Prefix, limitsOf(&k), spentOf(&k, spent),
				k.CreatedAt.Local().Format("2006-01-02 15:04"), revoked)
		}
		return tw.Flush()
	case cmd == "revoke" && fs.NArg() == 1:
		store, closeDB, err := open()
		if err != nil {
			return err
		}
		defer closeDB()
		name := fs.Arg(0)
		if err := store.RevokeKey(ctx, name); err != nil {
			if claudebridge.ErrorCode(err) == claudebridge.ENOTFOUND {
				return fmt.Errorf("keys: no key %q", name)
			}
			return fmt.Errorf("keys revoke: %s", claudebridge.ErrorMessage(err))
		}
		fmt.Fprintf(stderr, "key %s revoked in %s\n", name, redact.URL(path))
		return nil
	}
	fmt.Fprint(stderr, keysUsage)
	return fmt.Errorf("keys: bad arguments %q", append([]string{cmd}, args...))
}

// spentOf says what a key spent in its budget's period, and of what
// budget; a key without a budget is shown its month.
func spentOf(k *claudebridge.Key, spent float64) string {
	if k.BudgetUSD <= 0 {
		return fmt.Sprintf("$%.4f this month", spent)
	}
	period := "this month"
	if k.BudgetPeriod == "day" {
		period = "today"
	}
	return fmt.Sprintf("$%.4f of $%s %s", spent, strconv.FormatFloat(k.BudgetUSD, 'f', -1, 64), period)
}

// limitsOf says a key's limits in the words of the create flags.
func limitsOf(k *claudebridge.Key) string {
	var parts []string
	add := func(name string, n int) {
		if n > 0 {
			parts = append(parts, name+"="+strconv.Itoa(n))
		}
	}
	add("rpm", k.RPM)
	add("tpm", k.TPM)
	add("concurrency", k.Concurrency)
	if k.BudgetUSD > 0 {
		parts = append(parts, "budget=$"+strconv.FormatFloat(k.BudgetUSD, 'f', -1, 64)+"/"+k.BudgetPeriod)
	}
	if k.MaxCostPerRequest > 0 {
		parts = append(parts, "max-cost=$"+strconv.FormatFloat(k.MaxCostPerRequest, 'f', -1, 64))
	}
	if len(k.Models) > 0 {
		parts = append(parts, "models="+strings.Join(k.Models, ","))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
