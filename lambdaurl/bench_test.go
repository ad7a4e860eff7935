package lambdaurl

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/claudebridge/claudebridge/lambdaurl/runtimeapitest"
)

// firstEvent answers as /v1/messages begins a stream: headers, then the
// first event, flushed.
var firstEvent = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Write([]byte("event: message_start\ndata: {}\n\n"))
	w.(http.Flusher).Flush()
})

// BenchmarkFirstByteThroughTheRuntimeAPI is an invocation's time to its
// first body byte, from the Runtime API's side: the event handed over,
// decoded, served, its prelude and first chunk posted back. Compare with
// BenchmarkFirstByteOverHTTP: the difference is what the Function URL
// path adds.
func BenchmarkFirstByteThroughTheRuntimeAPI(b *testing.B) {
	api, err := runtimeapitest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer api.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, api.Addr, firstEvent, nil, quiet) }()
	defer func() { cancel(); <-served }()
	ev, _ := json.Marshal(event("POST", "/v1/messages", "", `{"stream":true}`))
	for b.Loop() {
		ans, err := api.Invoke(ctx, ev)
		if err != nil {
			b.Fatal(err)
		}
		<-ans.Chunks
		for range ans.Chunks {
		}
	}
}

// BenchmarkFirstByteOverHTTP is the same handler's time to first byte over
// a kept-alive loopback HTTP/1.1 connection.
func BenchmarkFirstByteOverHTTP(b *testing.B) {
	srv := httptest.NewServer(firstEvent)
	defer srv.Close()
	for b.Loop() {
		resp, err := http.Post(srv.URL+"/v1/messages", "application/json", nil)
		if err != nil {
			b.Fatal(err)
		}
		bufio.NewReader(resp.Body).ReadByte()
		resp.Body.Close()
	}
}
