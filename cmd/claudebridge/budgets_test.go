package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/claudebridge/claudebridge/cost"
)

// budgetBody is a call whose answer runs to its max_tokens, so that what
// it costs is within a few input tokens of its worst case: the count of
// calls a budget lets through then does not hang on which of them ended
// first.
func budgetBody(stream bool) string {
	return fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":1000,"stream":%v,"messages":[{"role":"user","content":"Tell me everything. [[words=3000]]"}]}`, stream)
}

// worstOf is the worst case the gateway reserves for body.
func worstOf(body string) float64 {
	return cost.Builtin().WorstCase("claude-sonnet-4-5", "emulator", []byte(body), 1000)
}

// post sends body to url with key and returns the status, answer and
// headers.
func post(t *testing.T, client *http.Client, url, key, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", key)
	req.Header.Set("authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

func TestAKeysBudgetLetsExactly7Of50ConcurrentCallsThroughServeAndRefusesTheRest(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "budget.db")
	// Room for 7 calls at their worst case and half an eighth.
	budget := 7.5 * max(worstOf(budgetBody(true)), worstOf(budgetBody(false)))
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--budget-usd", strconv.FormatFloat(budget, 'f', -1, 64), "--period", "day")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	serveEnv(t, dbPath, nil)
	addr, stop := startServe(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	statuses := map[int]int{}
	var refusal string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			<-start
			status, body, _ := post(t, client, addr+"/v1/messages", key, budgetBody(i%2 == 0))
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			if status == http.StatusBadRequest {
				refusal = body
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := statuses[http.StatusOK], 7; got != want {
		t.Errorf("calls through %d, want %d (all: %v)", got, want, statuses)
	}
	if got, want := statuses[http.StatusBadRequest], 43; got != want {
		t.Errorf("calls refused %d, want %d (all: %v)", got, want, statuses)
	}
	for _, want := range []string{`"invalid_request_error"`, "Your budget is too low", "this key has spent"} {
		if !strings.Contains(refusal, want) {
			t.Errorf("refusal %s lacks %s", refusal, want)
		}
	}
	stop()
	list, err := runKeys(t, dbPath, "list")
	if err != nil {
		t.Fatal(err)
	}
	if want := " of $" + strconv.FormatFloat(budget, 'f', -1, 64) + " today"; !strings.Contains(list, want) {
		t.Errorf("list %q lacks %q", list, want)
	}
}

func TestAKeysBudgetHoldsOnTheBedrockFrontDoor(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "budget.db")
	body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":1000,"messages":[{"role":"user","content":"Tell me everything. [[words=3000]]"}]}`
	// Room for one call, not two.
	budget := 1.5 * worstOf(body)
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--budget-usd", strconv.FormatFloat(budget, 'f', -1, 64), "--period", "month")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	serveEnv(t, dbPath, nil)
	addr, _ := startServe(t)
	url := addr + "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
	if status, answer, _ := post(t, http.DefaultClient, url, key, body); status != http.StatusOK {
		t.Fatalf("first call %d, want 200: %s", status, answer)
	}
	status, answer, header := post(t, http.DefaultClient, url, key, body)
	if got, want := status, http.StatusBadRequest; got != want {
		t.Errorf("second call %d, want %d: %s", got, want, answer)
	}
	if got, want := header.Get("x-amzn-ErrorType"), "ValidationException"; !strings.HasPrefix(got, want) {
		t.Errorf("error type %q, want %q", got, want)
	}
	if want := "Your budget is too low"; !strings.Contains(answer, want) {
		t.Errorf("refusal %s lacks %s", answer, want)
	}
}

func TestAKeysBudgetHoldsTheCallsOfItsMessageBatches(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "budget.db")
	params := budgetBody(false)
	// Room for 2 of the batch's 5 calls.
	budget := 2.5 * worstOf(params)
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--budget-usd", strconv.FormatFloat(budget, 'f', -1, 64), "--period", "day")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	serveEnv(t, dbPath, map[string]string{"BATCH_CONCURRENCY": "5"})
	addr, logs, _ := startServeLogged(t)
	var list []string
	for i := range 5 {
		list = append(list, fmt.Sprintf(`{"custom_id":"r%d","params":%s}`, i, params))
	}
	status, body, _ := post(t, http.DefaultClient, addr+"/v1/messages/batches", key, `{"requests":[`+strings.Join(list, ",")+`]}`)
	if status != http.StatusOK {
		t.Fatalf("create batch: %d %s", status, body)
	}
	var batch struct{ ID string }
	json.Unmarshal([]byte(body), &batch)
	for line := range logs.each {
		if strings.Contains(line, "message batch ended") && strings.Contains(line, batch.ID) {
			break
		}
	}
	req, _ := http.NewRequest("GET", addr+"/v1/messages/batches/"+batch.ID+"/results", nil)
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := strings.Count(string(results), `"type":"succeeded"`), 2; got != want {
		t.Errorf("requests succeeded %d, want %d: %s", got, want, results)
	}
	if got, want := strings.Count(string(results), "Your budget is too low"), 3; got != want {
		t.Errorf("requests refused by the budget %d, want %d: %s", got, want, results)
	}
}

func TestAKeysCapPricesWithPricesFile(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cap.db")
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--max-cost-per-request", "0.01")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	// Built in, 100 tokens of output cost $0.0015: under the key's cap;
	// at $1,000 a million they cost $0.10.
	prices := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(prices, []byte(`{"models":{"claude-sonnet-4-5":{"input":1,"output":1000}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	serveEnv(t, dbPath, map[string]string{"PRICES_FILE": prices})
	addr, _ := startServe(t)
	status, answer, _ := post(t, http.DefaultClient, addr+"/v1/messages", key,
		`{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`)
	if got, want := status, http.StatusBadRequest; got != want {
		t.Errorf("status %d, want %d: %s", got, want, answer)
	}
	if want := "over this key's limit of $0.0100 per request"; !strings.Contains(answer, want) {
		t.Errorf("refusal %s lacks %s", answer, want)
	}
}

func TestAKeysMessageBatchesArePacedByItsConcurrencyAndHeldToItsModels(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "paced.db")
	out, err := runKeys(t, dbPath, "create", "--name", "ci", "--concurrency", "1", "--models", "claude-haiku-4-5")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	serveEnv(t, dbPath, map[string]string{"BATCH_CONCURRENCY": "4"})
	addr, logs, _ := startServeLogged(t)
	var list []string
	for i := range 3 {
		list = append(list, fmt.Sprintf(`{"custom_id":"r%d","params":{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi %d"}]}}`, i, i))
	}
	list = append(list, `{"custom_id":"other","params":{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}}`)
	status, body, _ := post(t, http.DefaultClient, addr+"/v1/messages/batches", key, `{"requests":[`+strings.Join(list, ",")+`]}`)
	if status != http.StatusOK {
		t.Fatalf("create batch: %d %s", status, body)
	}
	var batch struct{ ID string }
	json.Unmarshal([]byte(body), &batch)
	for line := range logs.each {
		if strings.Contains(line, "message batch ended") && strings.Contains(line, batch.ID) {
			break
		}
	}
	req, _ := http.NewRequest("GET", addr+"/v1/messages/batches/"+batch.ID+"/results", nil)
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Four calls at once, one allowed in flight: three wait their turn.
	if got, want := strings.Count(string(results), `"type":"succeeded"`), 3; got != want {
		t.Errorf("requests succeeded %d, want %d: %s", got, want, results)
	}
	if got, want := strings.Count(string(results), "may not use the model claude-sonnet-4-5"), 1; got != want {
		t.Errorf("requests refused for their model %d, want %d: %s", got, want, results)
	}
}
