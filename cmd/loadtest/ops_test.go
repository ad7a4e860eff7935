package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRequestsOfKeySumsTheKeysCallsOnMetricsWithTheAdminKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" || r.Header.Get("Authorization") != "Bearer "+opsAdminKey {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`# HELP claudebridge_requests_total Calls answered.
# TYPE claudebridge_requests_total counter
claudebridge_requests_total{door="messages",key="load",member="anthropic",model="claude-sonnet-4-5",status="200"} 1200
claudebridge_requests_total{door="messages",key="load",member="anthropic",model="claude-sonnet-4-5",status="499"} 3
claudebridge_requests_total{door="messages",key="loader",member="anthropic",model="claude-sonnet-4-5",status="200"} 50
claudebridge_requests_total{door="messages",key="static",member="anthropic",model="claude-sonnet-4-5",status="200"} 7
claudebridge_tokens_total{door="messages",key="load",kind="input",member="anthropic",model="claude-sonnet-4-5"} 99999
`))
	}))
	defer srv.Close()
	got, err := requestsOfKey(strings.TrimPrefix(srv.URL, "http://"), "load")
	if err != nil {
		t.Fatal(err)
	}
	if want := 1203; got != want {
		t.Errorf("requests of key load = %d, want %d", got, want)
	}
}

func TestRequestsOfKeyFailsWhenMetricsAreRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := requestsOfKey(strings.TrimPrefix(srv.URL, "http://"), "load"); err == nil {
		t.Error("a 404 from /metrics gave no error")
	}
}

func TestCallsOfKeyReadsTheKeysRowOfTheUsageTable(t *testing.T) {
	table := `   key  calls  input  output  cache read  cache write 5m  cache write 1h  cost USD
loader     12    100     200           0               0               0    0.0100
  load   4604   9208  207180           0               0               0    3.1354
 total   4616   9308  207380           0               0               0    3.1454
`
	if got, want := callsOfKey(table, "load"), 4604; got != want {
		t.Errorf("calls of key load = %d, want %d", got, want)
	}
	if got, want := callsOfKey(table, "absent"), 0; got != want {
		t.Errorf("calls of an absent key = %d, want %d", got, want)
	}
}

func TestCPUTimeSeesLessThanAClockTickOfWork(t *testing.T) {
	start, err := cpuTime(os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	for {
		now, err := cpuTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now != start {
			if got, tick := now-start, 10*time.Millisecond; got >= tick {
				t.Errorf("the first change of cpuTime = %v, want less than a clock tick (%v)", got, tick)
			}
			return
		}
	}
}
