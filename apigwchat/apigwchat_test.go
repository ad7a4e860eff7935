package apigwchat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/chat"
)

// fakeChat records what the host hands it; its SocketMessage and
// RunSocketJob run the test's func, if set.
type fakeChat struct {
	mu          sync.Mutex
	connected   *http.Request
	connectID   string
	connectErr  error
	disconnects []string
	message     func(ctx context.Context, id string, body []byte, out chat.Connections, jobs chat.JobLauncher) error
	job         func(ctx context.Context, job chat.SocketJob, out chat.Connections) error
}

func (f *fakeChat) ConnectSocket(_ context.Context, r *http.Request, id string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected, f.connectID = r, id
	return 7, f.connectErr
}

func (f *fakeChat) DisconnectSocket(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disconnects = append(f.disconnects, id)
	return nil
}

func (f *fakeChat) SocketMessage(ctx context.Context, id string, body []byte, out chat.Connections, jobs chat.JobLauncher) error {
	return f.message(ctx, id, body, out, jobs)
}

func (f *fakeChat) RunSocketJob(ctx context.Context, job chat.SocketJob, out chat.Connections) error {
	return f.job(ctx, job, out)
}

// awsCall is one call an AWS stand-in got.
type awsCall struct {
	Method, Path, InvocationType string
	Body                         []byte
}

// awsStandIn answers every call with status and body, and tells each call.
func awsStandIn(t *testing.T, tls bool, status int, errorType string) (*httptest.Server, chan awsCall) {
	calls := make(chan awsCall, 16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- awsCall{r.Method, r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"), b}
		if errorType != "" {
			w.Header().Set("X-Amzn-ErrorType", errorType)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"message":"` + errorType + `"}`))
			return
		}
		w.WriteHeader(status)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, calls
}

// newHost is a Host with the AWS SDK's default configuration, read from
// the environment the test set, and client (nil: the SDK's own).
func newHost(t *testing.T, c Chat, client *http.Client) *Host {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if client != nil {
		cfg.HTTPClient = client
	}
	return New(Options{Chat: c, AWS: cfg, FunctionName: "claudebridge-fn"})
}

func wsEvent(route, domain string) events.APIGatewayWebsocketProxyRequest {
	var ev events.APIGatewayWebsocketProxyRequest
	ev.RequestContext.RouteKey = route
	ev.RequestContext.ConnectionID = "L0SM9cOFvHcCIhw="
	ev.RequestContext.DomainName = domain
	ev.RequestContext.Stage = "prod"
	return ev
}

func handle(t *testing.T, h *Host, v any) events.APIGatewayProxyResponse {
	t.Helper()
	b, _ := json.Marshal(v)
	out, err := h.Handle(context.Background(), b)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return resp
}

func TestConnectHandsTheChatTheHandshakeWithItsTicketCookieAndOrigin(t *testing.T) {
	c := &fakeChat{}
	h := newHost(t, c, nil)
	ev := wsEvent("$connect", "abc123.execute-api.us-east-1.amazonaws.com")
	ev.QueryStringParameters = map[string]string{"ticket": "T1"}
	ev.MultiValueQueryStringParameters = map[string][]string{"ticket": {"T1"}}
	ev.Headers = map[string]string{"Cookie": "cb_session=S", "Origin": "https://page.example"}
	resp := handle(t, h, ev)
	if got, want := resp.StatusCode, 200; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	r := c.connected
	if got, want := r.URL.Query().Get("ticket"), "T1"; got != want {
		t.Errorf("ticket %q, want %q", got, want)
	}
	if ck, err := r.Cookie("cb_session"); err != nil || ck.Value != "S" {
		t.Errorf("cookie %v, %v; want cb_session=S", ck, err)
	}
	if got, want := r.Header.Get("Origin"), "https://page.example"; got != want {
		t.Errorf("origin %q, want %q", got, want)
	}
	if got, want := r.Host, "abc123.execute-api.us-east-1.amazonaws.com"; got != want {
		t.Errorf("host %q, want %q", got, want)
	}
	if got, want := c.connectID, "L0SM9cOFvHcCIhw="; got != want {
		t.Errorf("connection id %q, want %q", got, want)
	}
}

func TestARefusedConnectIsAnsweredWith401Or403(t *testing.T) {
	for code, want := range map[string]int{claudebridge.EAUTH: 401, claudebridge.EPERMISSION: 403} {
		c := &fakeChat{connectErr: claudebridge.Errorf(code, "no")}
		h := newHost(t, c, nil)
		resp := handle(t, h, wsEvent("$connect", "abc123.execute-api.us-east-1.amazonaws.com"))
		if got := resp.StatusCode; got != want {
			t.Errorf("%s: status %d, want %d", code, got, want)
		}
	}
}

func TestDisconnectForgetsTheConnection(t *testing.T) {
	c := &fakeChat{}
	h := newHost(t, c, nil)
	handle(t, h, wsEvent("$disconnect", "abc123.execute-api.us-east-1.amazonaws.com"))
	if got, want := strings.Join(c.disconnects, ","), "L0SM9cOFvHcCIhw="; got != want {
		t.Errorf("disconnected %q, want %q", got, want)
	}
}

func TestAFramesAnswerIsPostedToItsConnectionAtTheEventsAPIAndStage(t *testing.T) {
	srv, calls := awsStandIn(t, true, 200, "")
	c := &fakeChat{}
	var body string
	c.message = func(ctx context.Context, id string, b []byte, out chat.Connections, _ chat.JobLauncher) error {
		body = string(b)
		return out.Post(ctx, id, []byte(`{"type":"error"}`))
	}
	h := newHost(t, c, srv.Client())
	ev := wsEvent("$default", strings.TrimPrefix(srv.URL, "https://"))
	ev.Body = `{"type":"nonsense"}`
	if got, want := handle(t, h, ev).StatusCode, 200; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := body, `{"type":"nonsense"}`; got != want {
		t.Errorf("frame handed on %q, want %q", got, want)
	}
	call := <-calls
	if got, want := call.Method+" "+call.Path, "POST /prod/@connections/L0SM9cOFvHcCIhw="; got != want {
		t.Errorf("call %q, want %q", got, want)
	}
	if got, want := string(call.Body), `{"type":"error"}`; got != want {
		t.Errorf("posted %q, want %q", got, want)
	}
}

func TestABase64FrameIsDecodedFirst(t *testing.T) {
	c := &fakeChat{}
	var body string
	c.message = func(_ context.Context, _ string, b []byte, _ chat.Connections, _ chat.JobLauncher) error {
		body = string(b)
		return nil
	}
	h := newHost(t, c, nil)
	ev := wsEvent("$default", "abc123.execute-api.us-east-1.amazonaws.com")
	ev.Body, ev.IsBase64Encoded = "eyJ0eXBlIjoicGluZyJ9", true
	handle(t, h, ev)
	if got, want := body, `{"type":"ping"}`; got != want {
		t.Errorf("frame handed on %q, want %q", got, want)
	}
}

func TestTheManagementEndpointVariableIsHonouredOverTheEvents(t *testing.T) {
	srv, calls := awsStandIn(t, false, 200, "")
	t.Setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", srv.URL)
	c := &fakeChat{}
	c.message = func(ctx context.Context, id string, _ []byte, out chat.Connections, _ chat.JobLauncher) error {
		return out.Post(ctx, id, []byte(`{}`))
	}
	h := newHost(t, c, nil)
	handle(t, h, wsEvent("$default", "abc123.execute-api.us-east-1.amazonaws.com"))
	call := <-calls
	if got, want := call.Path, "/@connections/L0SM9cOFvHcCIhw="; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
}

func TestAGoneConnectionIsErrGone(t *testing.T) {
	srv, _ := awsStandIn(t, false, 410, "GoneException")
	t.Setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", srv.URL)
	c := &fakeChat{}
	var err error
	c.message = func(ctx context.Context, id string, _ []byte, out chat.Connections, _ chat.JobLauncher) error {
		err = out.Post(ctx, id, []byte(`{}`))
		return nil
	}
	h := newHost(t, c, nil)
	handle(t, h, wsEvent("$default", "abc123.execute-api.us-east-1.amazonaws.com"))
	if !errors.Is(err, chat.ErrGone) {
		t.Errorf("post to a gone connection: %v, want chat.ErrGone", err)
	}
}

func TestAFrameThatStartsATurnInvokesTheFunctionAsynchronouslyWithTheJob(t *testing.T) {
	srv, calls := awsStandIn(t, false, 202, "")
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", srv.URL)
	c := &fakeChat{}
	c.message = func(ctx context.Context, id string, b []byte, _ chat.Connections, jobs chat.JobLauncher) error {
		return jobs.Launch(ctx, chat.SocketJob{ConnectionID: id, UserID: 7, Frame: b})
	}
	h := newHost(t, c, nil)
	ev := wsEvent("$default", "abc123.execute-api.us-east-1.amazonaws.com")
	ev.Body = `{"type":"send","text":"Hi"}`
	handle(t, h, ev)
	call := <-calls
	if got, want := call.Path, "/2015-03-31/functions/claudebridge-fn/invocations"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	if got, want := call.InvocationType, "Event"; got != want {
		t.Errorf("invocation type %q, want %q", got, want)
	}
	var job jobEvent
	if err := json.Unmarshal(call.Body, &job); err != nil {
		t.Fatalf("payload %s: %v", call.Body, err)
	}
	if got, want := job.Kind, jobKind; got != want {
		t.Errorf("payload kind %q, want %q", got, want)
	}
	if got, want := job.Endpoint, "https://abc123.execute-api.us-east-1.amazonaws.com/prod"; got != want {
		t.Errorf("payload endpoint %q, want %q", got, want)
	}
	if got, want := string(job.Frame), `{"type":"send","text":"Hi"}`; got != want {
		t.Errorf("payload frame %q, want %q", got, want)
	}
	if got, want := job.ConnectionID, "L0SM9cOFvHcCIhw="; got != want {
		t.Errorf("payload connection %q, want %q", got, want)
	}
}

func TestAJobEventRunsTheTurnPostingToItsEndpoint(t *testing.T) {
	srv, calls := awsStandIn(t, true, 200, "")
	c := &fakeChat{}
	var got chat.SocketJob
	c.job = func(ctx context.Context, job chat.SocketJob, out chat.Connections) error {
		got = job
		return out.Post(ctx, job.ConnectionID, []byte(`{"type":"turn"}`))
	}
	h := newHost(t, c, srv.Client())
	ev := jobEvent{Kind: jobKind, SocketJob: chat.SocketJob{ConnectionID: "conn-9", UserID: 7, Frame: json.RawMessage(`{"type":"send"}`)},
		Endpoint: srv.URL + "/prod"}
	b, _ := json.Marshal(ev)
	if _, err := h.Handle(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got, want := got.UserID, int64(7); got != want {
		t.Errorf("job's user %d, want %d", got, want)
	}
	call := <-calls
	if got, want := call.Path, "/prod/@connections/conn-9"; got != want {
		t.Errorf("posted to %q, want %q", got, want)
	}
}

func TestAnEventOfNoKnownSourceIsAnError(t *testing.T) {
	h := newHost(t, &fakeChat{}, nil)
	if _, err := h.Handle(context.Background(), []byte(`{"Records":[]}`)); err == nil {
		t.Error("an S3-like event was answered, want an error")
	}
}
