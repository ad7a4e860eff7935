package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/claudebridge/claudebridge"
)

const usageUsage = `Usage: claudebridge usage [--by key|user|model|day] [--from YYYY-MM-DD] [--to YYYY-MM-DD]

Sums the ledger (every call of every door: the API, the Bedrock front door,
the chat) by key, chat user, model or day (UTC), from --from's start to --to's
end (both optional, inclusive): calls, tokens of each kind, cost in US dollars.
The database is DATABASE_URL's, the one serve writes.

Flags:
`

// usageCommand prints the ledger's totals.
func usageCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usage", flag.ContinueOnError)
	by := fs.String("by", "day", "group by key, user, model or day")
	fromFlag := fs.String("from", "", "first day, YYYY-MM-DD (UTC)")
	toFlag := fs.String("to", "", "last day, YYYY-MM-DD (UTC)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageUsage)
		fs.PrintDefaults()
	}
	if helped, err := parseFlags(fs, args, stdout, stderr); helped || err != nil {
		return err
	}
	var from, to time.Time
	for _, d := range []struct {
		flag string
		v    string
		dst  *time.Time
		next bool
	}{{"--from", *fromFlag, &from, false}, {"--to", *toFlag, &to, true}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return fmt.Errorf("usage: %s %q: want YYYY-MM-DD", d.flag, d.v)
		}
		if d.next {
			t = t.AddDate(0, 0, 1) // --to's day is included
		}
		*d.dst = t
	}
	path, err := databasePath(os.Getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	totals, err := db.LedgerTotals(ctx, claudebridge.LedgerGroup(*by), from, to)
	if err != nil {
		return fmt.Errorf("usage: %s", claudebridge.ErrorMessage(err))
	}
	printTotals(stdout, *by, totals)
	return nil
}

// printTotals writes the totals as a table, with a line of their sum.
func printTotals(w io.Writer, by string, totals []claudebridge.LedgerTotal) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tcalls\tinput\toutput\tcache read\tcache write 5m\tcache write 1h\tcost USD\t\n", by)
	var sum claudebridge.LedgerTotal
	line := func(name string, t claudebridge.LedgerTotal) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.4f\t\n", name, t.Calls, t.InputTokens, t.OutputTokens,
			t.CacheReadTokens, t.CacheWrite5mTokens, t.CacheWrite1hTokens, t.CostUSD)
	}
	for _, t := range totals {
		name := t.Group
		if name == "" {
			name = "(none)"
		}
		line(name, t)
		sum.Calls += t.Calls
		sum.InputTokens += t.InputTokens
		sum.OutputTokens += t.OutputTokens
		sum.CacheReadTokens += t.CacheReadTokens
		sum.CacheWrite5mTokens += t.CacheWrite5mTokens
		sum.CacheWrite1hTokens += t.CacheWrite1hTokens
		sum.CostUSD += t.CostUSD
	}
	line("total", sum)
	tw.Flush()
}
