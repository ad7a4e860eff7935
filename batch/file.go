package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// maxLine is the longest input or results line read: a Messages body may
// be up to 32 MB, and its answer comes with it in a Bedrock result.
const maxLine = 96 << 20

// DetectFormat names the format of an input file from its first record:
// "anthropic" for a custom_id, "bedrock" for a recordId or modelInput.
func DetectFormat(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var keys map[string]json.RawMessage
		if json.Unmarshal(line, &keys) != nil {
			return "", fmt.Errorf("the first record is not a JSON object")
		}
		if _, ok := keys["custom_id"]; ok {
			return "anthropic", nil
		}
		_, id := keys["recordId"]
		_, input := keys["modelInput"]
		if id || input {
			return "bedrock", nil
		}
		return "", fmt.Errorf("the first record has neither custom_id (Message Batches) nor recordId or modelInput (Bedrock batch inference)")
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no record in the file")
}

// ReadRecords reads every record of an input file in format f. Blank
// lines are skipped. A line that is not a record of f, or an id that an
// earlier line has, is an error that names the line: nothing is run then.
func ReadRecords(r io.Reader, f Format) ([]*Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	var records []*Record
	lineOf := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec, err := f.Record(line, n)
		if err != nil {
			return nil, err
		}
		if first, dup := lineOf[rec.ID]; dup {
			return nil, fmt.Errorf("line %d: id %q is also on line %d: each record needs an id of its own", n, rec.ID, first)
		}
		lineOf[rec.ID] = n
		records = append(records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("after line %d: %v", len(records), err)
	}
	return records, nil
}

// DefaultSyncInterval is how often Results flushes the file to disk when
// told nothing else.
const DefaultSyncInterval = time.Second

// Results is a results file opened to be appended to: the checkpoint of a
// run. Each result is one line written by one write, so that a process
// killed at any moment leaves whole lines and at most one torn last line,
// which the next OpenResults drops.
type Results struct {
	// Done holds the ids of the results the file had when opened.
	Done map[string]bool
	// Dropped is the number of bytes of a torn or unreadable tail that
	// OpenResults cut off.
	Dropped int64
	// SyncInterval is the longest time between two fsyncs of the file, so
	// that a crash of the machine loses at most that much of the run.
	SyncInterval time.Duration

	mu       sync.Mutex
	file     *os.File
	format   Format
	lastSync time.Time
	buf      []byte
}

// OpenResults opens the results file at path in format f, creating it if
// needed, reads the ids of the results it holds, and cuts off a torn last
// line: a last line without its newline, or one that is not a result
// (what a crash of the machine may leave). A line that is not a result of
// f with more after it is an error: the file is not a results file of f,
// and is left as it is.
func OpenResults(path string, f Format) (*Results, error) {
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	r := &Results{Done: map[string]bool{}, SyncInterval: DefaultSyncInterval, file: file, format: f, lastSync: time.Now()}
	if err := r.load(path); err != nil {
		file.Close()
		return nil, err
	}
	return r, nil
}

// load reads the file's results, cuts off a torn last line and leaves
// the file offset at its end. Only the last line may be cut: a line that
// is not a result with more after it refuses the file, left as it is, so
// that an --out that names some other file is never emptied.
func (r *Results) load(path string) error {
	br := bufio.NewReaderSize(r.file, 64<<10)
	var (
		good    int64 // end of the last good line
		offset  int64
		badLine int // the line that is not a result, 0 if none
	)
	refuse := func() error {
		return fmt.Errorf("%s: line %d is not a result in the %s format, and more follows it: is this the results file of this input? (only a torn last line is cut off)",
			path, badLine, r.format.Name())
	}
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		offset += int64(len(line))
		if err == io.EOF {
			// A last line without its newline is torn, whatever it holds.
			if len(line) > 0 && badLine != 0 {
				return refuse()
			}
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		trimmed := bytes.TrimSpace(line)
		if badLine != 0 && len(trimmed) > 0 {
			return refuse()
		}
		if len(trimmed) == 0 {
			if badLine == 0 {
				good = offset
			}
			continue
		}
		id, idErr := r.format.ResultID(trimmed)
		if idErr != nil {
			badLine = n
			continue
		}
		r.Done[id] = true
		good = offset
	}
	if r.Dropped = offset - good; r.Dropped > 0 {
		if err := r.file.Truncate(good); err != nil {
			return fmt.Errorf("%s: cutting off its torn last line: %v", path, err)
		}
		if err := r.file.Sync(); err != nil {
			return err
		}
	}
	_, err := r.file.Seek(good, io.SeekStart)
	return err
}

// Append writes res as one line, in one write, and syncs the file when
// SyncInterval has passed since the last sync. It is safe for concurrent
// use.
func (r *Results) Append(res Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(append(r.buf[:0], r.format.Line(res)...), '\n')
	if _, err := r.file.Write(r.buf); err != nil {
		return err
	}
	if time.Since(r.lastSync) >= r.SyncInterval {
		r.lastSync = time.Now()
		return r.file.Sync()
	}
	return nil
}

// Close syncs and closes the file.
func (r *Results) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.file.Sync(), r.file.Close())
}

// Files runs the records of an input file into a results file.
type Files struct {
	In, Out string
	Format  Format
	Runner  *Runner
	// Betas are anthropic-beta flags for every record, as the Message
	// Batches API takes them: in the header of the call that makes the
	// batch, not in params.
	Betas []string
	// Progress, when set, is told the state of the run at its start and
	// after each result, one call at a time.
	Progress func(Progress)
	// Price prices a succeeded call's usage for the summary's cost; nil:
	// the model table's list prices (anthropic.Cost).
	Price func(model string, u claudebridge.Usage) float64
}

// Run reads every record of In (a bad line or a repeated id is an error
// before anything runs), opens Out and skips the records it has results
// for, then runs the others with Runner, appending each result to Out.
// It returns where the run ended and Runner.Run's error: stop's when the
// run was stopped before its end.
func (f *Files) Run(stop context.Context) (Progress, error) {
	in, err := os.Open(f.In)
	if err != nil {
		return Progress{}, err
	}
	records, err := ReadRecords(in, f.Format)
	inInfo, statErr := in.Stat()
	in.Close()
	if err != nil {
		return Progress{}, fmt.Errorf("%s: %v", f.In, err)
	}
	if outInfo, err := os.Stat(f.Out); statErr == nil && err == nil && os.SameFile(inInfo, outInfo) {
		return Progress{}, fmt.Errorf("%s is both the input and the results file: name another for the results", f.Out)
	}
	out, err := OpenResults(f.Out, f.Format)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Total: len(records), Cut: out.Dropped, Started: time.Now()}
	pending := records[:0:0]
	for _, rec := range records {
		for _, b := range f.Betas {
			if rec.Request != nil && !slices.Contains(rec.Request.Betas, b) {
				rec.Request.Betas = append(rec.Request.Betas, b)
			}
		}
		if out.Done[rec.ID] {
			p.Skipped++
		} else {
			pending = append(pending, rec)
		}
	}
	tell := func() {
		if f.Progress != nil {
			f.Progress(p)
		}
	}
	tell()
	err = f.Runner.Run(stop, pending, func(res Result) error {
		if err := out.Append(res); err != nil {
			return fmt.Errorf("%s: %v", f.Out, err)
		}
		p.Summary.Add(res, f.Price)
		tell()
		return nil
	})
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %v", f.Out, cerr)
	}
	return p, err
}
