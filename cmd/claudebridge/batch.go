package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/batch"
	"github.com/claudebridge/claudebridge/metrics"
)

const batchUsage = `Usage: claudebridge batch --in FILE --out FILE [--concurrency N] [--format F] [--model ID] [--beta FLAGS]

Runs every record of a JSONL file as one non-streaming Messages call, through
the same upstream as serve (its sampling rule and retries too), and appends each
result to --out as it comes, in the input's format:

  Message Batches:  {"custom_id","params"} in;
                    {"custom_id","result":{"type":"succeeded","message"}} or
                    {"custom_id","result":{"type":"errored","error":{"type":"error","error":{"type","message"}}}} out
  Bedrock batch inference: {"recordId","modelInput"} in (an InvokeModel body; the
                    model is --model); {"recordId","modelInput","modelOutput"} or
                    {"recordId","modelInput","error":{"errorCode","errorMessage"}} out

A record that fails is an errored result; the run goes on. --out is the
checkpoint: run the same command again, after Ctrl-C or a crash, and the
records it has results for are skipped. Ctrl-C starts no more records and lets
those running finish; a second Ctrl-C exits at once.

Every call is a row of the ledger (door batch_cli) in DATABASE_URL's database,
the one serve writes, priced with PRICES_FILE's prices: claudebridge usage
sums them with serve's. LEDGER=off writes none.

Settings: those of the upstream, as for serve (see claudebridge serve --help):
AI_PROVIDER, the AWS and Anthropic ones, RETRY_MAX_ATTEMPTS, CONNECT_TIMEOUT,
REQUEST_TIMEOUT (per record), SAMPLING_CONFLICT, MAX_COST_PER_REQUEST,
PRICES_FILE, DATABASE_URL, LEDGER, BEDROCK_*, LOG_LEVEL (warn at least, so that the
progress bar stays readable).

Flags:
`

func batchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	in := fs.String("in", "", "the input, JSONL (required)")
	out := fs.String("out", "", "the results, JSONL, appended to (required); also the checkpoint of the run")
	concurrency := fs.Int("concurrency", batch.DefaultConcurrency, "calls in flight at once")
	format := fs.String("format", "auto", "the input's format: anthropic (Message Batches), bedrock (batch inference), or auto (from the first record)")
	model := fs.String("model", "", "the model of Bedrock records (a Bedrock model id, profile id or ARN, or an Anthropic id)")
	betas := fs.String("beta", "", "anthropic-beta flags for every record, comma-separated (the Message Batches API takes them in a header, not in params)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), batchUsage)
		fs.PrintDefaults()
	}
	if helped, err := parseFlags(fs, args, stdout, stderr); helped || err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fs.SetOutput(stderr)
		fs.Usage()
		return fmt.Errorf("batch needs --in FILE and --out FILE, and no other arguments")
	}
	if *concurrency < 1 {
		return fmt.Errorf("--concurrency %d: at least 1", *concurrency)
	}
	f, err := batchFormat(*format, *in, *model)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(cfg.LogLevel, slog.LevelWarn)}))
	// The upstream outlives the first Ctrl-C: the calls running then finish.
	served, about, err := newGatewayUpstream(context.WithoutCancel(ctx), cfg, log, nil)
	if err != nil {
		return err
	}
	// Every call is a ledger entry of the door batch_cli, in serve's
	// database, written before the run returns (none with LEDGER=off).
	var up claudebridge.Upstream = served
	if !cfg.LedgerOff {
		db, err := openStore(ctx, cfg.Chat.DatabasePath)
		if err != nil {
			return err
		}
		defer db.Close()
		m := metrics.Unserved()
		_, drainLedger := startLedger(cfg, db, m, log, false)
		defer drainLedger()
		up = &metrics.Upstream{Next: served, Metrics: m, Door: metrics.BatchCLI}
	}
	show := newBatchProgress(stderr)
	stopping := make(chan struct{})
	defer close(stopping)
	go func() {
		select {
		case <-ctx.Done():
			show.say("stopping: no new records; the running ones finish (Ctrl-C again exits at once)")
		case <-stopping:
		}
	}()
	started := false
	run := &batch.Files{In: *in, Out: *out, Format: f, Betas: list(*betas),
		Price: func(model string, u claudebridge.Usage) float64 {
			return cfg.Prices.Cost(model, cfg.Provider, u, false)
		},
		Runner: &batch.Runner{Upstream: up, Concurrency: *concurrency, CallTimeout: cfg.RequestTimeout},
		Progress: func(p batch.Progress) {
			if !started {
				started = true
				if p.Cut > 0 {
					show.say(fmt.Sprintf("%s: cut off a torn last line (%d bytes) that an interrupted run left", *out, p.Cut))
				}
				show.say(fmt.Sprintf("%d records in %s (%s), %d with results in %s already; %d at once, from %s",
					p.Total, *in, f.Name(), p.Skipped, *out, *concurrency, about))
			}
			show.update(p)
		}}
	p, err := run.Run(ctx)
	show.done()
	if !started {
		return err // nothing ran: the input or the results file is refused
	}
	printBatchSummary(stdout, p, cfg.Prices.Version)
	if errors.Is(err, context.Canceled) {
		left := p.Total - p.Skipped - p.Summary.Done()
		return fmt.Errorf("interrupted with %d of %d records left; to resume, run the same command again:\n  claudebridge batch %s", left, p.Total, shellQuote(args))
	}
	return err
}

// batchFormat is the format named, or the input's when name is auto.
func batchFormat(name, in, model string) (batch.Format, error) {
	if name == "auto" {
		file, err := os.Open(in)
		if err != nil {
			return nil, err
		}
		name, err = batch.DetectFormat(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", in, err)
		}
	}
	switch name {
	case "anthropic":
		return batch.Anthropic{}, nil
	case "bedrock":
		if model == "" {
			return nil, fmt.Errorf("the records are in Bedrock's format, which names no model: give one with --model")
		}
		return batch.Bedrock{Model: model}, nil
	}
	return nil, fmt.Errorf("--format %q: want anthropic, bedrock or auto", name)
}

// printBatchSummary says what this run did and used, its cost at the
// prices of that version (the ledger's).
func printBatchSummary(w io.Writer, p batch.Progress, prices string) {
	s := p.Summary
	fmt.Fprintf(w, "records: %d, of which %d had results already; this run: %d succeeded, %d errored\n",
		p.Total, p.Skipped, s.Succeeded, s.Errored)
	fmt.Fprintf(w, "tokens: input %d, output %d, cache read %d, cache writes %d\n",
		s.Usage.InputTokens, s.Usage.OutputTokens, s.Usage.CacheReadInputTokens, s.Usage.CacheCreationInputTokens)
	fmt.Fprintf(w, "cost: $%.4f at the prices %s, as the ledger prices them\n", s.Cost, prices)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@,+-]+$`)

// shellQuote writes args as they can be typed again into a POSIX shell.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if shellSafe.MatchString(a) {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// batchProgress shows a run's progress on stderr: a bar with the rate, the
// time left and the cost so far on a terminal, else plain lines (each
// tenth of the records, and every 5 s).
type batchProgress struct {
	mu    sync.Mutex // the runner's results and the signal's word come from two goroutines
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when w is not a terminal
	lines *batch.Lines
	p     batch.Progress
}

func newBatchProgress(w io.Writer) *batchProgress {
	bp := &batchProgress{w: w}
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		bp.lines = &batch.Lines{W: w}
	}
	return bp
}

// update shows p. The bar counts this run's records only, so that its
// rate and time left are this run's.
func (bp *batchProgress) update(p batch.Progress) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	bp.p = p
	if bp.lines != nil {
		bp.lines.Update(p)
		return
	}
	if bp.bar == nil {
		bp.bar = progressbar.NewOptions(p.Total-p.Skipped,
			progressbar.OptionSetWriter(bp.w),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetWidth(30),
		)
	}
	bp.bar.Describe(fmt.Sprintf("$%.4f, %d errored", p.Summary.Cost, p.Summary.Errored))
	bp.bar.Set(p.Summary.Done())
}

// say writes a line of its own, under the bar when there is one.
func (bp *batchProgress) say(line string) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if bp.bar != nil {
		bp.bar.Clear()
	}
	fmt.Fprintln(bp.w, "batch:", line)
}

// done ends the bar or writes the last plain line.
func (bp *batchProgress) done() {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	switch {
	case bp.bar != nil:
		bp.bar.Exit()
		fmt.Fprintln(bp.w)
	case bp.lines != nil && !bp.p.Started.IsZero():
		bp.lines.Final(bp.p)
	}
}
