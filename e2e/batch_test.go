package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startBatch starts `claudebridge batch` on the built-in emulator and
// returns the command, the numbers of records done that its progress
// lines say, as they come (stderr is a pipe: plain lines, one per tenth),
// and its stdout. The channel is closed once stderr is, which holds all
// of it then.
func startBatch(t *testing.T, in, out string, stderrText *strings.Builder) (*exec.Cmd, <-chan int, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(claudebridgeBin, "batch", "--in", in, "--out", out, "--concurrency", "8")
	// The ledger's rows go beside the results, out of the user's home.
	cmd.Env = append(baseEnv(), "AI_PROVIDER=emulator", "DATABASE_URL="+filepath.Join(filepath.Dir(out), "ledger.db"))
	cmd.SysProcAttr = childAttr()
	stdout := &strings.Builder{}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 100)
	progress := regexp.MustCompile(`^batch: (\d+)/\d+ done`)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if stderrText != nil {
				stderrText.WriteString(sc.Text() + "\n")
			}
			if m := progress.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				select {
				case done <- n:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	return cmd, done, stdout
}

func TestABatchKilledHalfwayAndRunAgainHasEachRecordOnceInItsResults(t *testing.T) {
	const records = 1000
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	var lines []string
	for i := range records {
		// A pause before each answer, so that the run lasts long enough
		// to be killed in the middle (1,000 × 20 ms over 8 calls: 2.5 s).
		lines = append(lines, fmt.Sprintf(`{"custom_id":"rec-%04d","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"record %d [[wait=20]]"}]}}`, i, i))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if runtime.GOOS != "windows" { // no kill -9 to send there
		cmd, done, _ := startBatch(t, in, out, nil)
		deadline := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case n, open := <-done:
				if !open {
					t.Fatalf("the first run ended before it was half done: %v", cmd.Wait())
				}
				if n >= records/2 {
					break wait
				}
			case <-deadline:
				killGroup(cmd)
				t.Fatal("the first run was not half done within 2 minutes")
			}
		}
		if err := killGroup(cmd); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		_, ids := resultIDs(t, out)
		t.Logf("killed with %d results written", len(ids))
		if got := len(ids); got < records/2 || got >= records {
			t.Fatalf("the killed run left %d results, want at least half of %d and not all", got, records)
		}
	}

	cmd, _, stdout := startBatch(t, in, out, nil)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the second run: %v\n%s", err, stdout)
	}
	count, ids := resultIDs(t, out)
	if got, want := len(ids), records; got != want {
		t.Errorf("%d results, want %d", got, want)
	}
	for i := range records {
		id := fmt.Sprintf("rec-%04d", i)
		if got, want := count[id], 1; got != want {
			t.Errorf("%s has %d results, want %d", id, got, want)
		}
	}
	if got, want := strings.Contains(stdout.String(), fmt.Sprintf("records: %d", records)), true; got != want {
		t.Errorf("summary %q does not count the records", stdout)
	}
}

func TestCtrlCStopsABatchWithWholeResultsAndSaysHowToResume(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	const records = 400
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	var lines []string
	for i := range records {
		lines = append(lines, fmt.Sprintf(`{"custom_id":"rec-%04d","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"record %d [[wait=20]]"}]}}`, i, i))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd, done, _ := startBatch(t, in, out, &stderr)
	for n := range done {
		if n >= records/5 {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range done { // to the end of stderr
	}
	err := cmd.Wait()
	if got, want := cmd.ProcessState.ExitCode(), 1; got != want {
		t.Errorf("exit code %d (%v), want %d", got, err, want)
	}
	if got, want := strings.Contains(stderr.String(), "to resume, run the same command again"), true; got != want {
		t.Errorf("stderr does not say how to resume:\n%s", stderr.String())
	}
	count, ids := resultIDs(t, out)
	if got := len(ids); got == 0 || got >= records {
		t.Errorf("%d results after Ctrl-C, want some and not all of %d", got, records)
	}
	for id, n := range count {
		if got, want := n, 1; got != want {
			t.Errorf("%s has %d results, want %d", id, got, want)
		}
	}
}

// resultIDs reads a Message Batches results file: how many results each
// custom_id has, and the ids in order. Every line must be a whole result.
func resultIDs(t *testing.T, path string) (map[string]int, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	count := map[string]int{}
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct {
			CustomID string `json:"custom_id"`
			Result   struct {
				Type string `json:"type"`
			} `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("results line %q: %v", sc.Text(), err)
		}
		if got, want := r.Result.Type, "succeeded"; got != want {
			t.Errorf("%s: result.type %q, want %q", r.CustomID, got, want)
		}
		count[r.CustomID]++
		ids = append(ids, r.CustomID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return count, ids
}
