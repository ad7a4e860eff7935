package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"

	"github.com/claudebridge/claudebridge/sigv4"
)

// API Gateway's WebSocket limits (its quotas page): a message of 128 KB at
// most, sent in frames of 32 KB at most; a connection ends after 10
// minutes without a message, and after 2 hours whatever happens; an
// integration has 29 seconds to answer.
const (
	apiGatewayMessageLimit      = 128 * 1024
	apiGatewayFrameLimit        = 32 * 1024
	apiGatewayIdleTimeout       = 10 * time.Minute
	apiGatewayMaxDuration       = 2 * time.Hour
	apiGatewayIntegrationTimout = 29 * time.Second
)

// apiGateway is a stand-in of an API Gateway WebSocket API whose routes
// $connect, $default and $disconnect are one Lambda function's (Lambda
// proxy integrations, no route responses), with the @connections
// Management API on the same port, as API Gateway serves both on its
// domain:
//
//	ws://HOST/{stage}                      the WebSocket (wss:// on AWS)
//	POST|GET|DELETE /{stage}/@connections/{id}  the Management API (SigV4, execute-api)
//
// At the handshake it invokes $connect synchronously and opens the socket
// only on a 2xx statusCode, answering the handshake with the function's
// status otherwise (502 if the function failed, 504 past the integration
// timeout). Each message is a $default invocation of its own, concurrent
// with the others; one that fails or is throttled gets API Gateway's
// {"message": "Internal server error", ...} on the socket, one past the
// integration timeout {"message": "Endpoint request timed out", ...}. Its
// answer is not sent: the function talks back through @connections. Every
// close, either side's, is a $disconnect invocation. Its limits are API
// Gateway's; the timeouts are fields so that a test can shorten them
// before the first connection.
type apiGateway struct {
	stage              string
	apiID              string
	integrationTimeout time.Duration
	idleTimeout        time.Duration
	maxDuration        time.Duration

	fn       *lambdaService
	verifier sigv4.Verifier
	url      string // http://127.0.0.1:PORT

	mu         sync.Mutex
	conns      map[string]*apiConnection
	background sync.WaitGroup // $default and $disconnect invocations
}

// apiConnection is one open WebSocket.
type apiConnection struct {
	id          string
	ws          *websocket.Conn
	domainName  string
	connectedAt time.Time
	sourceIP    string
	userAgent   string

	mu         sync.Mutex
	lastActive time.Time
	code       websocket.StatusCode // why the gateway closed it; 0 if it did not
	reason     string

	active    chan struct{} // a message in or out: the idle timer starts over
	closeOnce sync.Once
	closed    chan struct{}
}

// newAPIGateway serves the stand-in in front of fn on a loopback port until
// the test ends.
func newAPIGateway(t *testing.T, fn *lambdaService, stage string) *apiGateway {
	g := &apiGateway{stage: stage, apiID: "e2eapi1234", integrationTimeout: apiGatewayIntegrationTimout,
		idleTimeout: apiGatewayIdleTimeout, maxDuration: apiGatewayMaxDuration, fn: fn,
		verifier: sigv4.Verifier{Credentials: map[string]string{awsKeyID: awsSecret}},
		conns:    map[string]*apiConnection{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{stage}", g.connect)
	mux.HandleFunc("POST /{stage}/@connections/{id}", g.manage)
	mux.HandleFunc("GET /{stage}/@connections/{id}", g.manage)
	mux.HandleFunc("DELETE /{stage}/@connections/{id}", g.manage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiGatewayError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
	})
	srv := httptest.NewServer(mux)
	g.url = srv.URL
	t.Cleanup(func() {
		g.mu.Lock()
		conns := make([]*apiConnection, 0, len(g.conns))
		for _, c := range g.conns {
			conns = append(conns, c)
		}
		g.mu.Unlock()
		for _, c := range conns {
			c.close(websocket.StatusGoingAway, "Going away")
		}
		srv.Close()
		g.background.Wait()
	})
	return g
}

// socketURL is the WebSocket's URL, ws://HOST/{stage}.
func (g *apiGateway) socketURL() string {
	return "ws" + strings.TrimPrefix(g.url, "http") + "/" + g.stage
}

// managementURL is the @connections API's endpoint, as
// AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: http://HOST/{stage}.
func (g *apiGateway) managementURL() string {
	return g.url + "/" + g.stage
}

// connect is the handshake: $connect decides.
func (g *apiGateway) connect(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("stage") != g.stage {
		apiGatewayError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "Upgrade Required", http.StatusUpgradeRequired)
		return
	}
	now := time.Now()
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &apiConnection{id: awsID(), domainName: r.Host, connectedAt: now, sourceIP: host, userAgent: r.UserAgent(),
		lastActive: now, active: make(chan struct{}, 1), closed: make(chan struct{})}
	requestID := awsID()
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: g.requestContext(c, "$connect", "CONNECT", requestID, now),
		Headers: map[string]string{}, MultiValueHeaders: map[string][]string{}}
	r.Header.Set("Host", r.Host)
	r.Header.Set("X-Forwarded-For", host)
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		r.Header.Set("X-Forwarded-Port", port)
	}
	r.Header.Set("X-Forwarded-Proto", "http")
	trace := make([]byte, 12)
	rand.Read(trace)
	r.Header.Set("X-Amzn-Trace-Id", fmt.Sprintf("Root=1-%08x-%x", now.Unix(), trace))
	for name, values := range r.Header {
		ev.Headers[name] = values[len(values)-1]
		ev.MultiValueHeaders[name] = values
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string(q)
		for name, values := range q {
			ev.QueryStringParameters[name] = values[len(values)-1]
		}
	}
	payload, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(r.Context(), g.integrationTimeout)
	defer cancel()
	inv, err := g.fn.invoke(ctx, payload, false)
	if errors.Is(err, context.DeadlineExceeded) {
		apiGatewayError(w, http.StatusGatewayTimeout, "", "Endpoint request timed out")
		return
	}
	var answer events.APIGatewayProxyResponse
	if err != nil || inv.functionError != "" || json.Unmarshal(inv.payload, &answer) != nil || answer.StatusCode == 0 {
		apiGatewayError(w, http.StatusBadGateway, "", "Internal server error")
		return
	}
	if answer.StatusCode < 200 || answer.StatusCode > 299 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(answer.StatusCode)
		io.WriteString(w, answer.Body)
		return
	}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	for name, value := range answer.Headers {
		if strings.EqualFold(name, "Sec-WebSocket-Protocol") {
			opts.Subprotocols = []string{value}
		}
	}
	frames := &frameTap{frameLimit: apiGatewayFrameLimit, messageLimit: apiGatewayMessageLimit,
		onLimit: func() { c.close(websocket.StatusMessageTooBig, "Message too big") }}
	ws, err := websocket.Accept(&tappedWriter{ResponseWriter: w, tap: frames}, r, opts)
	if err != nil {
		return
	}
	ws.SetReadLimit(apiGatewayMessageLimit)
	c.ws = ws
	g.background.Add(1)
	defer g.background.Done()
	g.mu.Lock()
	g.conns[c.id] = c
	g.mu.Unlock()
	go g.watch(c)
	g.read(c)
}

// read passes each message to $default until the socket closes, then
// invokes $disconnect.
func (g *apiGateway) read(c *apiConnection) {
	var closeErr websocket.CloseError
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			if errors.As(err, &closeErr) {
				c.close(closeErr.Code, closeErr.Reason)
			} else {
				c.close(websocket.StatusAbnormalClosure, "") // the client went without a close frame
			}
			break
		}
		c.touch()
		g.background.Add(1)
		go func() {
			defer g.background.Done()
			g.message(c, data)
		}()
	}
	g.mu.Lock()
	delete(g.conns, c.id)
	g.mu.Unlock()
	c.mu.Lock()
	code, reason := c.code, c.reason
	c.mu.Unlock()
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: g.requestContext(c, "$disconnect", "DISCONNECT", awsID(), time.Now()),
		Headers: map[string]string{"Host": c.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}}
	ev.MultiValueHeaders = map[string][]string{}
	for name, value := range ev.Headers {
		ev.MultiValueHeaders[name] = []string{value}
	}
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	payload, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), g.integrationTimeout)
	defer cancel()
	g.fn.invoke(ctx, payload, false)
}

// message invokes $default with one message; API Gateway's own message
// tells the client when that fails or times out.
func (g *apiGateway) message(c *apiConnection, data []byte) {
	requestID := awsID()
	ev := events.APIGatewayWebsocketProxyRequest{RequestContext: g.requestContext(c, "$default", "MESSAGE", requestID, time.Now()),
		Body: string(data)}
	ev.RequestContext.MessageID = awsID()
	payload, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), g.integrationTimeout)
	defer cancel()
	inv, err := g.fn.invoke(ctx, payload, false)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		c.send(apiGatewayFrame("Endpoint request timed out", c.id, requestID))
	case err != nil || inv.functionError != "":
		c.send(apiGatewayFrame("Internal server error", c.id, requestID))
	}
}

// apiGatewayFrame is the message API Gateway sends a client whose message
// failed, in its exact form.
func apiGatewayFrame(message, connectionID, requestID string) []byte {
	return fmt.Appendf(nil, `{"message": %q, "connectionId":%q, "requestId":%q}`, message, connectionID, requestID)
}

func (g *apiGateway) requestContext(c *apiConnection, routeKey, eventType, requestID string, now time.Time) events.APIGatewayWebsocketProxyRequestContext {
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey: routeKey, EventType: eventType, ExtendedRequestID: requestID, RequestID: requestID,
		RequestTime: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: now.UnixMilli(),
		MessageDirection: "IN", Stage: g.stage, ConnectedAt: c.connectedAt.UnixMilli(),
		Identity:   events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		DomainName: c.domainName, ConnectionID: c.id, APIID: g.apiID,
	}
}

// watch closes c when it has been idle, or open, too long.
func (g *apiGateway) watch(c *apiConnection) {
	idle := time.NewTimer(g.idleTimeout)
	defer idle.Stop()
	lifetime := time.NewTimer(g.maxDuration)
	defer lifetime.Stop()
	for {
		select {
		case <-c.active:
			idle.Reset(g.idleTimeout)
		case <-idle.C:
			c.close(websocket.StatusGoingAway, "Going away")
			return
		case <-lifetime.C:
			c.close(websocket.StatusGoingAway, "Going away")
			return
		case <-c.closed:
			return
		}
	}
}

// touch records a message in or out.
func (c *apiConnection) touch() {
	c.mu.Lock()
	c.lastActive = time.Now()
	c.mu.Unlock()
	select {
	case c.active <- struct{}{}:
	default:
	}
}

// send writes data to the client, as text when it is UTF-8.
func (c *apiConnection) send(data []byte) error {
	typ := websocket.MessageBinary
	if utf8.Valid(data) {
		typ = websocket.MessageText
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, typ, data); err != nil {
		return err
	}
	c.touch()
	return nil
}

// close ends the connection with code and reason, once; the first reason
// given is the one $disconnect is told.
func (c *apiConnection) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.code, c.reason = code, reason
		c.mu.Unlock()
		close(c.closed)
		if code == websocket.StatusAbnormalClosure {
			c.ws.CloseNow()
			return
		}
		go c.ws.Close(code, reason)
	})
}

// manage is the @connections API: POST sends its body to the connection,
// GET describes it, DELETE closes it; a connection that is not open is
// 410 GoneException.
func (g *apiGateway) manage(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("stage") != g.stage {
		apiGatewayError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, apiGatewayMessageLimit+1))
	if err != nil {
		return
	}
	if e := g.verifier.Verify(r, body, "execute-api"); e != nil {
		apiGatewayError(w, e.Status, e.Type, e.Message)
		return
	}
	if len(body) > apiGatewayMessageLimit {
		apiGatewayError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Message too long")
		return
	}
	g.mu.Lock()
	c := g.conns[r.PathValue("id")]
	g.mu.Unlock()
	if c == nil {
		gone(w)
		return
	}
	switch r.Method {
	case http.MethodPost:
		if c.send(body) != nil {
			gone(w)
		}
	case http.MethodGet:
		c.mu.Lock()
		last := c.lastActive
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"connectedAt":  c.connectedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
			"identity":     map[string]string{"sourceIp": c.sourceIP, "userAgent": c.userAgent},
			"lastActiveAt": last.UTC().Format("2006-01-02T15:04:05.000Z"),
		})
	case http.MethodDelete:
		c.close(websocket.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	}
}

// gone is API Gateway's answer for a connection that is not open: 410, the
// type in X-Amzn-ErrorType and no body.
func gone(w http.ResponseWriter) {
	w.Header().Set("X-Amzn-ErrorType", "GoneException")
	w.WriteHeader(http.StatusGone)
}

// apiGatewayError answers {"message": msg} with status, and the type (if
// any) in X-Amzn-ErrorType.
func apiGatewayError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if typ != "" {
		w.Header().Set("X-Amzn-ErrorType", typ)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// tappedWriter hands websocket.Accept a connection whose incoming bytes go
// through tap, which reads the frames' headers as they pass: a WebSocket
// library reads messages, not frames, and API Gateway's limits are on
// both.
type tappedWriter struct {
	http.ResponseWriter
	tap *frameTap
}

func (w *tappedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	w.tap.r = io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), conn)
	tapped := &tappedConn{Conn: conn, tap: w.tap}
	brw.Reader.Reset(tapped)
	return tapped, brw, nil
}

type tappedConn struct {
	net.Conn
	tap *frameTap
}

func (c *tappedConn) Read(p []byte) (int, error) { return c.tap.Read(p) }

// frameTap passes a client's WebSocket stream through, reading each
// frame's header (RFC 6455, 5.2) as it goes: at the first data frame over
// frameLimit, or the first that takes its message over messageLimit, it
// calls onLimit, and from then on drops data frames (header and payload)
// while passing control frames, so that the reader, which never sees the
// offending frame, still reads the client's answer to the close frame and
// the connection closes cleanly rather than with a reset under the
// client's writes.
type frameTap struct {
	r            io.Reader
	frameLimit   int64
	messageLimit int64
	onLimit      func()

	buf     [32 << 10]byte
	out     []byte // bytes passed, not read yet
	err     error  // r's error, once out is read
	header  []byte // the header being read
	skip    int64  // payload bytes of the current frame still to come
	drop    bool   // the current frame is dropped
	message int64  // payload bytes of the current message
	over    bool   // a limit was passed
}

func (t *frameTap) Read(p []byte) (int, error) {
	for len(t.out) == 0 && t.err == nil {
		n, err := t.r.Read(t.buf[:min(len(p), len(t.buf))])
		t.scan(t.buf[:n])
		t.err = err
	}
	if len(t.out) == 0 {
		return 0, t.err
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

// scan passes b on to out, less the dropped frames.
func (t *frameTap) scan(b []byte) {
	for i := 0; i < len(b); {
		if t.skip > 0 {
			k := int(min(int64(len(b)-i), t.skip))
			if !t.drop {
				t.out = append(t.out, b[i:i+k]...)
			}
			i += k
			t.skip -= int64(k)
			continue
		}
		t.header = append(t.header, b[i])
		i++
		length, ok := framePayloadLength(t.header)
		if !ok {
			continue
		}
		opcode := t.header[0] & 0x0f
		control := opcode&0x8 != 0
		if !control {
			if opcode != 0 { // not a continuation: a new message
				t.message = 0
			}
			t.message += length
			if !t.over && (length > t.frameLimit || t.message > t.messageLimit) {
				t.over = true
				t.onLimit()
			}
		}
		t.drop = !control && t.over
		if !t.drop {
			t.out = append(t.out, t.header...)
		}
		t.header = t.header[:0]
		t.skip = length
	}
}

// framePayloadLength is the payload length a complete frame header states;
// false while h is not a whole header yet.
func framePayloadLength(h []byte) (int64, bool) {
	if len(h) < 2 {
		return 0, false
	}
	size, length := 2, int64(h[1]&0x7f)
	switch length {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h[1]&0x80 != 0 {
		size += 4 // the mask
	}
	if len(h) < size {
		return 0, false
	}
	switch length {
	case 126:
		length = int64(h[2])<<8 | int64(h[3])
	case 127:
		length = 0
		for _, b := range h[2:10] {
			length = length<<8 | int64(b)
		}
	}
	return length, true
}

// socketEvents are the $connect and $disconnect events the test function
// saw, in order.
type socketEvents struct {
	connects, disconnects chan events.APIGatewayWebsocketProxyRequest
}

// nextEvent returns the next event of ch, failing the test after 30 seconds.
func nextEvent(t *testing.T, ch <-chan events.APIGatewayWebsocketProxyRequest, what string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-ctxFor(t).Done():
		t.Fatalf("no %s event", what)
		return events.APIGatewayWebsocketProxyRequest{}
	}
}

// startSocketAPI runs the test function behind the API Gateway stand-in,
// with TESTFUNCTION_NOTIFY_URL collecting the $connect and $disconnect
// events it sees, and returns the gateway and those events. configure, if
// not nil, changes the gateway before anyone connects.
func startSocketAPI(t *testing.T, configure func(*apiGateway)) (*apiGateway, socketEvents) {
	seen := socketEvents{make(chan events.APIGatewayWebsocketProxyRequest, 16), make(chan events.APIGatewayWebsocketProxyRequest, 16)}
	notify := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev events.APIGatewayWebsocketProxyRequest
		if json.NewDecoder(r.Body).Decode(&ev) != nil {
			return
		}
		if ev.RequestContext.RouteKey == "$connect" {
			seen.connects <- ev
		} else {
			seen.disconnects <- ev
		}
	}))
	fn := newLambdaService(t, "testfunction", testFunction(t), nil, 4)
	g := newAPIGateway(t, fn, "prod")
	if configure != nil {
		configure(g)
	}
	fn.env = []string{"AWS_REGION=" + awsRegion, "AWS_ACCESS_KEY_ID=" + awsKeyID, "AWS_SECRET_ACCESS_KEY=" + awsSecret,
		"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=" + g.managementURL(), "TESTFUNCTION_NOTIFY_URL=" + notify}
	return g, seen
}

// dialSocket opens the gateway's WebSocket with the ticket the test
// function lets in.
func dialSocket(t *testing.T, g *apiGateway) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctxFor(t), g.socketURL()+"?ticket=open-sesame", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// sayOnSocket sends text and returns the next message.
func sayOnSocket(t *testing.T, ws *websocket.Conn, text string) string {
	t.Helper()
	if err := ws.Write(ctxFor(t), websocket.MessageText, []byte(text)); err != nil {
		t.Fatal(err)
	}
	_, data, err := ws.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// eventOf has the test function send back the $default event of a
// message.
func eventOf(t *testing.T, ws *websocket.Conn) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal([]byte(sayOnSocket(t, ws, "event")), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// managementClient is the AWS SDK's @connections client of g, signing
// with secret.
func managementClient(g *apiGateway, secret string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{Region: awsRegion,
		BaseEndpoint: aws.String(g.managementURL()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(awsKeyID, secret, "")})
}

// closeStatus reads from ws until it fails and returns the close code.
func closeStatus(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
	t.Helper()
	for {
		if _, _, err := ws.Read(ctxFor(t)); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestTheSocketOpensOnlyWhenConnectAnswers2xx(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	_, resp, err := websocket.Dial(ctxFor(t), g.socketURL(), nil)
	if err == nil {
		t.Fatal("a connection without the ticket was opened")
	}
	if got, want := resp.StatusCode, http.StatusForbidden; got != want {
		t.Errorf("handshake status without the ticket: got %d, want %d", got, want)
	}
	ws := dialSocket(t, g)
	if got, want := sayOnSocket(t, ws, "hello"), "hello"; got != want {
		t.Errorf("echo: got %q, want %q", got, want)
	}
}

func TestTheHandshakeIsAConnectEventInAPIGatewaysShape(t *testing.T) {
	g, seen := startSocketAPI(t, nil)
	ws, _, err := websocket.Dial(ctxFor(t), g.socketURL()+"?ticket=open-sesame&lang=en", &websocket.DialOptions{
		HTTPHeader: http.Header{"Cookie": {"session=abc; theme=dark"}, "Origin": {"http://page.example.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ev := nextEvent(t, seen.connects, "$connect")
	rc := ev.RequestContext
	if got, want := rc.RouteKey, "$connect"; got != want {
		t.Errorf("routeKey: got %q, want %q", got, want)
	}
	if got, want := rc.EventType, "CONNECT"; got != want {
		t.Errorf("eventType: got %q, want %q", got, want)
	}
	if got, want := ev.Headers["Cookie"], "session=abc; theme=dark"; got != want {
		t.Errorf("Cookie header: got %q, want %q", got, want)
	}
	if got, want := ev.Headers["Origin"], "http://page.example.test"; got != want {
		t.Errorf("Origin header: got %q, want %q", got, want)
	}
	if got, want := ev.Headers["Host"], strings.TrimPrefix(g.url, "http://"); got != want {
		t.Errorf("Host header: got %q, want %q", got, want)
	}
	if got, want := ev.MultiValueHeaders["Origin"], []string{"http://page.example.test"}; !slices.Equal(got, want) {
		t.Errorf("Origin in multiValueHeaders: got %q, want %q", got, want)
	}
	if got, want := ev.QueryStringParameters["lang"], "en"; got != want {
		t.Errorf("queryStringParameters.lang: got %q, want %q", got, want)
	}
	if got, want := rc.Stage, "prod"; got != want {
		t.Errorf("stage: got %q, want %q", got, want)
	}
	if got, want := rc.DomainName, strings.TrimPrefix(g.url, "http://"); got != want {
		t.Errorf("domainName: got %q, want %q", got, want)
	}
	if rc.RequestID == "" || rc.APIID == "" || rc.ConnectedAt <= 0 {
		t.Errorf("requestId, apiId or connectedAt missing: %+v", rc)
	}
	if got, want := eventOf(t, ws).RequestContext.ConnectionID, rc.ConnectionID; got != want {
		t.Errorf("connectionId of the messages: got %q, want the handshake's %q", got, want)
	}
}

func TestAMessageIsADefaultEventInAPIGatewaysShape(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	ev := eventOf(t, ws)
	rc := ev.RequestContext
	if got, want := rc.RouteKey, "$default"; got != want {
		t.Errorf("routeKey: got %q, want %q", got, want)
	}
	if got, want := rc.EventType, "MESSAGE"; got != want {
		t.Errorf("eventType: got %q, want %q", got, want)
	}
	if got, want := ev.Body, "event"; got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
	if got, want := rc.Stage, "prod"; got != want {
		t.Errorf("stage: got %q, want %q", got, want)
	}
	if got, want := rc.MessageDirection, "IN"; got != want {
		t.Errorf("messageDirection: got %q, want %q", got, want)
	}
	if got := rc.ConnectionID; len(got) != 16 || !strings.HasSuffix(got, "=") {
		t.Errorf("connectionId: got %q, want 16 characters ending in =", got)
	}
	if rc.RequestID == "" || rc.MessageID == nil || rc.APIID == "" || rc.DomainName == "" || rc.Identity.SourceIP == "" {
		t.Errorf("requestId, messageId, apiId, domainName or identity.sourceIp missing: %+v", rc)
	}
	if rc.ConnectedAt <= 0 || rc.RequestTimeEpoch < rc.ConnectedAt {
		t.Errorf("connectedAt %d, requestTimeEpoch %d: want a connection time, then a later request time", rc.ConnectedAt, rc.RequestTimeEpoch)
	}
}

func TestAPostToAClosedConnectionIsGone(t *testing.T) {
	g, seen := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	id := eventOf(t, ws).RequestContext.ConnectionID
	ws.Close(websocket.StatusNormalClosure, "bye")
	ev := nextEvent(t, seen.disconnects, "$disconnect")
	if got, want := ev.RequestContext.EventType, "DISCONNECT"; got != want {
		t.Errorf("eventType: got %q, want %q", got, want)
	}
	if got, want := ev.RequestContext.ConnectionID, id; got != want {
		t.Errorf("connectionId: got %q, want %q", got, want)
	}
	if got, want := ev.RequestContext.DisconnectStatusCode, int64(websocket.StatusNormalClosure); got != want {
		t.Errorf("disconnectStatusCode: got %d, want %d", got, want)
	}
	if got, want := aws.ToString(ev.RequestContext.DisconnectReason), "bye"; got != want {
		t.Errorf("disconnectReason: got %q, want %q", got, want)
	}
	_, err := managementClient(g, awsSecret).PostToConnection(ctxFor(t), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte("anyone?")})
	var gone *apigwtypes.GoneException
	if !errors.As(err, &gone) {
		t.Errorf("got %v, want GoneException", err)
	}
}

func TestTheConnectionsAPIDescribesAndDeletesAConnection(t *testing.T) {
	g, seen := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	id := eventOf(t, ws).RequestContext.ConnectionID
	client := managementClient(g, awsSecret)
	info, err := client.GetConnection(ctxFor(t), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if info.ConnectedAt == nil || time.Since(*info.ConnectedAt) > time.Minute {
		t.Errorf("connectedAt: got %v, want a moment ago", info.ConnectedAt)
	}
	if got, want := aws.ToString(info.Identity.SourceIp), "127.0.0.1"; got != want {
		t.Errorf("sourceIp: got %q, want %q", got, want)
	}
	if _, err := client.DeleteConnection(ctxFor(t), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got, want := closeStatus(t, ws), websocket.StatusNormalClosure; got != want {
		t.Errorf("close status: got %d, want %d", got, want)
	}
	nextEvent(t, seen.disconnects, "$disconnect")
}

func TestAManagementCallSignedWithAnotherSecretIsRefused(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	id := eventOf(t, ws).RequestContext.ConnectionID
	_, err := managementClient(g, "not-the-secret").PostToConnection(ctxFor(t), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte("hi")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want an API error", err)
	}
	if got, want := apiErr.ErrorCode(), "InvalidSignatureException"; got != want {
		t.Errorf("error code: got %q, want %q", got, want)
	}
}

func TestAPostOver128KBIsTooLarge(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	id := eventOf(t, ws).RequestContext.ConnectionID
	_, err := managementClient(g, awsSecret).PostToConnection(ctxFor(t), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: bytes.Repeat([]byte("x"), apiGatewayMessageLimit+1)})
	var tooLarge *apigwtypes.PayloadTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("got %v, want PayloadTooLargeException", err)
	}
}

func TestAMessageSlowerThanTheIntegrationTimeoutGetsAPIGatewaysTimeoutMessage(t *testing.T) {
	g, _ := startSocketAPI(t, func(g *apiGateway) { g.integrationTimeout = 2 * time.Second })
	ws := dialSocket(t, g)
	id := eventOf(t, ws).RequestContext.ConnectionID
	gate := newGate(t)
	var got struct{ Message, ConnectionID, RequestID string }
	if err := json.Unmarshal([]byte(sayOnSocket(t, ws, "hold "+gate.url)), &got); err != nil {
		t.Fatal(err)
	}
	if want := "Endpoint request timed out"; got.Message != want {
		t.Errorf("message: got %q, want %q", got.Message, want)
	}
	if got.ConnectionID != id {
		t.Errorf("connectionId: got %q, want %q", got.ConnectionID, id)
	}
	if got.RequestID == "" {
		t.Error("no requestId")
	}
}

func TestAFailedMessageGetsAPIGatewaysInternalServerError(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	var got struct{ Message string }
	if err := json.Unmarshal([]byte(sayOnSocket(t, ws, "fail")), &got); err != nil {
		t.Fatal(err)
	}
	if want := "Internal server error"; got.Message != want {
		t.Errorf("message: got %q, want %q", got.Message, want)
	}
}

func TestAFrameOver32KBClosesTheSocketWith1009(t *testing.T) {
	g, seen := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	// One Write is one frame.
	if err := ws.Write(ctxFor(t), websocket.MessageText, bytes.Repeat([]byte("x"), apiGatewayFrameLimit+1)); err != nil {
		t.Fatal(err)
	}
	if got, want := closeStatus(t, ws), websocket.StatusMessageTooBig; got != want {
		t.Errorf("close status: got %d, want %d", got, want)
	}
	ev := nextEvent(t, seen.disconnects, "$disconnect")
	if got, want := ev.RequestContext.DisconnectStatusCode, int64(websocket.StatusMessageTooBig); got != want {
		t.Errorf("disconnectStatusCode: got %d, want %d", got, want)
	}
}

// writeFrames sends a message of size bytes in frames of 32 KB.
func writeFrames(t *testing.T, ws *websocket.Conn, size int) {
	t.Helper()
	w, err := ws.Writer(ctxFor(t), websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), apiGatewayFrameLimit)
	for size > 0 {
		n := min(size, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			t.Fatal(err)
		}
		size -= n
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAMessageOf128KBInFramesOf32KBGoesThrough(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	writeFrames(t, ws, apiGatewayMessageLimit)
	_, data, err := ws.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(data), apiGatewayMessageLimit; got != want {
		t.Errorf("echo of %d bytes: got %d", want, got)
	}
}

func TestAMessageOver128KBClosesTheSocketWith1009(t *testing.T) {
	g, _ := startSocketAPI(t, nil)
	ws := dialSocket(t, g)
	writeFrames(t, ws, apiGatewayMessageLimit+1)
	if got, want := closeStatus(t, ws), websocket.StatusMessageTooBig; got != want {
		t.Errorf("close status: got %d, want %d", got, want)
	}
}

func TestAnIdleConnectionIsClosed(t *testing.T) {
	g, seen := startSocketAPI(t, func(g *apiGateway) { g.idleTimeout = time.Second })
	ws := dialSocket(t, g)
	if got, want := closeStatus(t, ws), websocket.StatusGoingAway; got != want {
		t.Errorf("close status: got %d, want %d", got, want)
	}
	ev := nextEvent(t, seen.disconnects, "$disconnect")
	if got, want := ev.RequestContext.DisconnectStatusCode, int64(websocket.StatusGoingAway); got != want {
		t.Errorf("disconnectStatusCode: got %d, want %d", got, want)
	}
}

func TestAConnectionIsClosedAtItsMaximumDuration(t *testing.T) {
	// Idle for 10 minutes, open for 2 seconds at most: what closes it
	// within the test's 30 seconds is its duration.
	g, seen := startSocketAPI(t, func(g *apiGateway) { g.maxDuration = 2 * time.Second })
	ws := dialSocket(t, g)
	if got, want := closeStatus(t, ws), websocket.StatusGoingAway; got != want {
		t.Errorf("close status: got %d, want %d", got, want)
	}
	nextEvent(t, seen.disconnects, "$disconnect")
}

// maxChatInstances is the chat function's concurrency in the stand-in.
// Lambda's default is 1,000 per account; the page's first load asks for a
// dozen files and APIs at once, each a cold start (most of a second on a
// busy host), and a throttled module would leave the page dead, so the cap
// stays well above that.
const maxChatInstances = 32

// startAPIGatewayChat runs claudebridge as a Lambda function, as
// template.yaml deploys it with API Gateway's WebSocket API, and returns
// the page's URL (the Function URL) and the chat's WebSocket URL (the
// WebSocket API's). The function's instances are started by the Lambda
// service stand-in, up to maxChatInstances at once, whose Function URL serves the page
// and the REST calls and whose Invoke API is AWS_ENDPOINT_URL_LAMBDA (for
// the invocations the function makes of itself); the API Gateway stand-in
// invokes them for the socket's events, its @connections API at
// AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI. env is the function's own, on
// top of those (lambdaEnv's, say): its DATABASE_URL is all its instances
// share.
func startAPIGatewayChat(t *testing.T, env []string) (pageURL, socketURL string) {
	fn := newLambdaService(t, "claudebridge", claudebridgeBin, nil, maxChatInstances)
	g := newAPIGateway(t, fn, "prod")
	lambdaURL := newLoopbackServer(t, fn.invokeAPI())
	pageURL = newLoopbackServer(t, fn.functionURL())
	fn.env = append([]string{
		"AWS_REGION=" + awsRegion,
		"AWS_ACCESS_KEY_ID=" + awsKeyID,
		"AWS_SECRET_ACCESS_KEY=" + awsSecret,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=900",
		"AWS_ENDPOINT_URL_LAMBDA=" + lambdaURL,
		"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=" + g.managementURL(),
		"CHAT_SOCKET_URL=" + g.socketURL(),
	}, env...)
	return pageURL, g.socketURL()
}

func TestThePageAndTheAPIOfClaudebridgeAsALambdaFunctionAreServedThroughItsFunctionURL(t *testing.T) {
	pageURL, _ := startAPIGatewayChat(t, lambdaEnv(t))
	resp, err := http.Get(pageURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("the page: got %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/html"; !strings.HasPrefix(got, want) {
		t.Errorf("the page's content type: got %q, want %q", got, want)
	}
	gw := gateway{name: "lambda", url: pageURL, model: "claude-sonnet-4-5"}
	prompt := "Hello through the Lambda service " + nonce(t)
	client := newClient(gw)
	msg, err := client.Messages.New(ctxFor(t), userText(gw.model, prompt))
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(msg); !strings.Contains(got, prompt) {
		t.Errorf("the answer does not quote the question: %q", got)
	}
}
