package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/claudebridge/claudebridge/internal/syncbuf"
	"github.com/claudebridge/claudebridge/sigv4"
)

// The Lambda service's payload limits: 6 MB for a synchronous invocation,
// 1 MB for an asynchronous one (raised from 256 KB in 2025).
const (
	lambdaSyncPayloadLimit  = 6 * 1024 * 1024
	lambdaAsyncPayloadLimit = 1024 * 1024
)

// errThrottled is a synchronous invocation that found every execution
// environment busy and no room for another: Lambda's
// TooManyRequestsException.
var errThrottled = errors.New("rate exceeded: every instance is busy")

// lambdaService is a stand-in of the Lambda service for one function, with
// what Lambda does between its callers and the function: each invocation
// runs alone in an execution environment (an instance of the runtime
// interface emulator, which, as Lambda's environments do, runs one
// invocation at a time); an idle instance is reused, and another is
// started, same binary and same environment, when all are busy, up to
// maxInstances (the function's concurrency). Instances share nothing but
// what their environment points to, such as a database.
//
// It serves the Invoke API (invokeAPI, for the AWS SDK's lambda client at
// AWS_ENDPOINT_URL_LAMBDA) and a Function URL (functionURL). Synchronous
// invocations past maxInstances are throttled (429), as Lambda throttles
// them; asynchronous ones wait for an instance, as in Lambda's queue.
type lambdaService struct {
	name         string   // the function's name, AWS_LAMBDA_FUNCTION_NAME
	bin          string   // its binary, run under the emulator
	env          []string // its environment on top of baseEnv; set before the first invocation
	maxInstances int
	rie          string
	dir          string

	mu      sync.Mutex
	idle    []*lambdaInstance
	live    int  // instances started or starting, not retired
	started int  // instances ever started
	closed  bool // the test is over: nothing more starts
	freed   chan struct{}
	all     []*lambdaInstance

	background sync.WaitGroup // Event invocations and calls left by their caller
}

// lambdaInstance is one execution environment: the emulator, and the
// function it runs.
type lambdaInstance struct {
	addr string // the emulator's invoke API, host:port
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
}

// newLambdaService returns the stand-in for the function bin, whose
// instances are stopped, and whose asynchronous invocations are awaited,
// when the test ends.
func newLambdaService(t *testing.T, name, bin string, env []string, maxInstances int) *lambdaService {
	s := &lambdaService{name: name, bin: bin, env: env, maxInstances: maxInstances, rie: installRIE(t),
		dir: t.TempDir(), freed: make(chan struct{})}
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		all := s.all
		s.mu.Unlock()
		for _, in := range all {
			in.stop()
		}
		s.background.Wait()
		if t.Failed() || testing.Verbose() {
			for i, in := range all {
				t.Logf("instance %d of %s:\n%s", i+1, name, in.out.String())
			}
		}
	})
	return s
}

// instancesStarted is how many instances were ever started.
func (s *lambdaService) instancesStarted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// acquire returns an idle instance, or starts one; with every instance busy
// and maxInstances live, errThrottled, or with wait, the next one freed.
func (s *lambdaService) acquire(ctx context.Context, wait bool) (*lambdaInstance, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errors.New("the test is over")
		}
		if n := len(s.idle); n > 0 {
			in := s.idle[n-1]
			s.idle = s.idle[:n-1]
			s.mu.Unlock()
			return in, nil
		}
		if s.live < s.maxInstances {
			s.live++
			s.started++
			s.mu.Unlock()
			in, err := s.startInstance(ctx)
			if err != nil {
				s.retire(nil)
				return nil, err
			}
			return in, nil
		}
		freed := s.freed
		s.mu.Unlock()
		if !wait {
			return nil, errThrottled
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release puts in back among the idle instances.
func (s *lambdaService) release(in *lambdaInstance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idle = append(s.idle, in)
	close(s.freed)
	s.freed = make(chan struct{})
}

// retire stops in (nil: an instance that did not start) and makes room for
// another: after a timeout or a crash Lambda starts a fresh environment.
func (s *lambdaService) retire(in *lambdaInstance) {
	if in != nil {
		in.stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live--
	close(s.freed)
	s.freed = make(chan struct{})
}

// startInstance starts the emulator with the function and waits until it
// listens; the function itself starts at the first invocation (its cold
// start is that invocation's).
func (s *lambdaService) startInstance(ctx context.Context) (*lambdaInstance, error) {
	emulatorAddr, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.rie, "--runtime-interface-emulator-address", emulatorAddr, "--runtime-api-address", runtimeAddr, s.bin)
	cmd.Env = append(append(baseEnv(), s.env...), "AWS_LAMBDA_FUNCTION_NAME="+s.name)
	cmd.Dir = s.dir
	cmd.SysProcAttr = childAttr()
	in := &lambdaInstance{addr: emulatorAddr, cmd: cmd, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = in.out, in.out
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("the test is over")
	}
	err = cmd.Start()
	if err == nil {
		s.all = append(s.all, in)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(in.done) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(startupDeadline)
	for {
		c, err := net.Dial("tcp", emulatorAddr)
		if err == nil {
			c.Close()
			return in, nil
		}
		select {
		case <-tick.C:
		case <-in.done:
			return nil, fmt.Errorf("the runtime interface emulator exited: %s", in.out.String())
		case <-deadline:
			in.stop()
			return nil, fmt.Errorf("the runtime interface emulator does not listen on %s", emulatorAddr)
		case <-ctx.Done():
			in.stop()
			return nil, ctx.Err()
		}
	}
}

// stop ends the instance's process group: SIGTERM, then SIGKILL after five
// seconds.
func (in *lambdaInstance) stop() {
	select {
	case <-in.done:
		return
	default:
	}
	termGroup(in.cmd)
	select {
	case <-in.done:
	case <-time.After(5 * time.Second):
		killGroup(in.cmd)
		<-in.done
	}
}

// loopbackAddr is a loopback address no one listens on.
func loopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// invocation is what an invocation returned: the function's answer and,
// when it failed, Lambda's X-Amz-Function-Error ("Unhandled").
type invocation struct {
	payload       []byte
	functionError string
}

// invoke runs payload on an instance and returns the function's answer. A
// caller that stops waiting (its ctx ends: API Gateway's integration
// timeout, say) does not stop the function, which runs on, its instance
// busy, until it returns, as on Lambda. With wait, an invocation waits for
// an instance rather than being throttled.
func (s *lambdaService) invoke(ctx context.Context, payload []byte, wait bool) (invocation, error) {
	in, err := s.acquire(ctx, wait)
	if err != nil {
		return invocation{}, err
	}
	type result struct {
		inv invocation
		err error
	}
	done := make(chan result, 1)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		inv, retire, err := in.run(payload)
		if retire {
			s.retire(in)
		} else {
			s.release(in)
		}
		done <- result{inv, err}
	}()
	select {
	case r := <-done:
		return r.inv, r.err
	case <-ctx.Done():
		return invocation{}, ctx.Err()
	}
}

// run posts payload to the instance's emulator. The emulator sends neither
// X-Amz-Function-Error nor Lambda's timeout answer, so both are read from
// what it does send: the runtime's error document ({"errorMessage",
// "errorType"}), "Task timed out after ...", or a 5xx for a runtime that
// crashed. After a timeout or a crash the instance is retired.
func (in *lambdaInstance) run(payload []byte) (inv invocation, retire bool, err error) {
	resp, err := http.Post("http://"+in.addr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(payload))
	if err != nil {
		return invocation{}, true, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return invocation{}, true, err
	}
	switch {
	case resp.StatusCode >= 500:
		msg, _ := json.Marshal(map[string]string{"errorType": "Runtime.ExitError", "errorMessage": resp.Status + ": " + string(body)})
		return invocation{payload: msg, functionError: "Unhandled"}, true, nil
	case bytes.HasPrefix(body, []byte("Task timed out after")):
		msg, _ := json.Marshal(map[string]string{"errorMessage": string(body)})
		return invocation{payload: msg, functionError: "Unhandled"}, true, nil
	case resp.StatusCode != http.StatusOK:
		return invocation{}, true, fmt.Errorf("the runtime interface emulator answered %s: %s", resp.Status, body)
	case isErrorDocument(body):
		return invocation{payload: body, functionError: "Unhandled"}, false, nil
	}
	return invocation{payload: body}, false, nil
}

// isErrorDocument tells the error document a runtime reports a failed
// invocation with: an object of errorMessage and errorType (and
// stackTrace), nothing else.
func isErrorDocument(body []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	_, hasMessage := doc["errorMessage"]
	_, hasType := doc["errorType"]
	for k := range doc {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return false
		}
	}
	return hasMessage && hasType
}

// invokeAPI is the Lambda Invoke API (POST
// /2015-03-31/functions/{name}/invocations) as the AWS SDKs call it:
// SigV4 for service lambda with the tests' credentials, the function by
// name or ARN, X-Amz-Invocation-Type RequestResponse (the default, the
// answer in the body, X-Amz-Function-Error on a failure), Event (202 at
// once, run in the background) or DryRun (204), Lambda's payload limits.
func (s *lambdaService) invokeAPI() http.Handler {
	verifier := sigv4.Verifier{Credentials: map[string]string{awsKeyID: awsSecret}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, lambdaSyncPayloadLimit+1))
		if err != nil {
			return
		}
		if e := verifier.Verify(r, body, "lambda"); e != nil {
			lambdaError(w, e.Status, e.Type, e.Message)
			return
		}
		if name := r.PathValue("name"); name != s.name && !strings.HasSuffix(name, ":function:"+s.name) &&
			!strings.Contains(name, ":function:"+s.name+":") {
			lambdaError(w, http.StatusNotFound, "ResourceNotFoundException",
				"Function not found: arn:aws:lambda:"+awsRegion+":123456789012:function:"+name)
			return
		}
		typ := r.Header.Get("X-Amz-Invocation-Type")
		limit := lambdaSyncPayloadLimit
		if typ == "Event" {
			limit = lambdaAsyncPayloadLimit
		}
		if len(body) > limit {
			lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
				fmt.Sprintf("Request must be smaller than %d bytes for the Invoke operation", limit))
			return
		}
		if len(body) == 0 {
			body = []byte("{}")
		}
		if !json.Valid(body) {
			lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
			return
		}
		w.Header().Set("X-Amzn-Requestid", awsID())
		switch typ {
		case "", "RequestResponse":
			inv, err := s.invoke(r.Context(), body, false)
			if errors.Is(err, errThrottled) {
				lambdaError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
				return
			}
			if err != nil {
				lambdaError(w, http.StatusInternalServerError, "ServiceException", err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amz-Executed-Version", "$LATEST")
			if inv.functionError != "" {
				w.Header().Set("X-Amz-Function-Error", inv.functionError)
			}
			w.Write(inv.payload)
		case "Event":
			s.invokeLater(body)
			w.WriteHeader(http.StatusAccepted)
		case "DryRun":
			w.WriteHeader(http.StatusNoContent)
		default:
			lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "Invalid invocation type: "+typ)
		}
	})
	return mux
}

// invokeLater runs an Event invocation in the background, waiting for an
// instance if all are busy.
func (s *lambdaService) invokeLater(payload []byte) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.invoke(context.Background(), payload, true)
	}()
}

// lambdaError answers as the Lambda service does: the type in
// X-Amzn-ErrorType and in the body with the message.
func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}

// awsID is an identifier in the form API Gateway gives connections and
// requests: 11 random bytes in URL-safe base64, "=" included.
func awsID() string {
	b := make([]byte, 11)
	rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}

// functionURL is the function's Function URL: each request an invocation
// (payload 2.0) on a free instance, throttled as the Invoke API's are.
func (s *lambdaService) functionURL() http.Handler {
	return functionURLHandler(func(ctx context.Context, ev []byte) (invocation, error) {
		return s.invoke(ctx, ev, false)
	})
}

// lambdaServiceFunction is the test function (e2e/testdata/testfunction),
// built once per test binary.
var lambdaServiceFunction = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(tempDir, "testfunction")
	build := exec.Command("go", "build", "-o", bin, "./e2e/testdata/testfunction")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./e2e/testdata/testfunction: %v\n%s", err, out)
	}
	return bin, nil
})

func testFunction(t *testing.T) string {
	t.Helper()
	bin, err := lambdaServiceFunction()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// gate is an HTTP endpoint the test function GETs ({"hold": URL}) and that
// answers when the test opens it: the test knows the function is running
// (arrived) and decides when it goes on.
type gate struct {
	url     string
	arrived chan struct{} // one value per GET
	open    chan struct{}
	once    sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{arrived: make(chan struct{}, 16), open: make(chan struct{})}
	srv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.arrived <- struct{}{}
		select {
		case <-g.open:
		case <-r.Context().Done():
		}
	}))
	g.url = srv
	t.Cleanup(g.release)
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// waitArrivals waits for n GETs, failing the test after 30 seconds.
func (g *gate) waitArrivals(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case <-g.arrived:
		case <-deadline:
			t.Fatalf("the function did not reach the gate %d times within 30s", n)
		}
	}
}

// newLoopbackServer serves h on a loopback port until the test ends and
// returns its URL.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// startTestFunction runs the test function behind the Lambda service
// stand-in and returns the service and an AWS SDK client of its Invoke API
// that does not retry (a throttle is seen as it comes).
func startTestFunction(t *testing.T, maxInstances int, env ...string) (*lambdaService, *lambda.Client) {
	s := newLambdaService(t, "testfunction", testFunction(t), env, maxInstances)
	client := lambda.New(lambda.Options{Region: awsRegion, BaseEndpoint: aws.String(newLoopbackServer(t, s.invokeAPI())),
		Credentials: credentials.NewStaticCredentialsProvider(awsKeyID, awsSecret, ""), RetryMaxAttempts: 1})
	return s, client
}

func TestTwoInvocationsAtOnceRunOnTwoInstancesOfTheFunction(t *testing.T) {
	s, client := startTestFunction(t, 4)
	g := newGate(t)
	payload, _ := json.Marshal(map[string]string{"hold": g.url})
	type answer struct {
		pid int
		err error
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			out, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"), Payload: payload})
			if err != nil {
				answers <- answer{err: err}
				return
			}
			var a struct{ PID int }
			err = json.Unmarshal(out.Payload, &a)
			answers <- answer{a.PID, err}
		}()
	}
	// Both hold at the gate at once: they overlap.
	g.waitArrivals(t, 2)
	g.release()
	pids := map[int]bool{}
	for range 2 {
		a := <-answers
		if a.err != nil {
			t.Fatal(a.err)
		}
		pids[a.pid] = true
	}
	if got, want := len(pids), 2; got != want {
		t.Errorf("processes that answered: got %d, want %d", got, want)
	}
	if got, want := s.instancesStarted(), 2; got != want {
		t.Errorf("instances started: got %d, want %d", got, want)
	}
}

func TestAnIdleInstanceIsUsedAgain(t *testing.T) {
	s, client := startTestFunction(t, 4)
	var pids []int
	for range 2 {
		out, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"), Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		var a struct{ PID int }
		if err := json.Unmarshal(out.Payload, &a); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, a.PID)
	}
	if pids[0] != pids[1] {
		t.Errorf("the second invocation ran in process %d, not in the first's, %d", pids[1], pids[0])
	}
	if got, want := s.instancesStarted(), 1; got != want {
		t.Errorf("instances started: got %d, want %d", got, want)
	}
}

func TestAnEventInvocationIsAcceptedBeforeTheFunctionEnds(t *testing.T) {
	_, client := startTestFunction(t, 4)
	g := newGate(t)
	payload, _ := json.Marshal(map[string]string{"hold": g.url})
	out, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"),
		InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.StatusCode, int32(http.StatusAccepted); got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	// The function runs after the answer: it reaches the gate, which holds
	// it until now.
	g.waitArrivals(t, 1)
}

func TestASynchronousInvocationPastTheConcurrencyIsThrottled(t *testing.T) {
	_, client := startTestFunction(t, 1)
	g := newGate(t)
	payload, _ := json.Marshal(map[string]string{"hold": g.url})
	first := make(chan error, 1)
	go func() {
		_, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"), Payload: payload})
		first <- err
	}()
	g.waitArrivals(t, 1)
	_, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"), Payload: []byte(`{}`)})
	var throttled *lambdatypes.TooManyRequestsException
	if !errors.As(err, &throttled) {
		t.Errorf("the second invocation: got %v, want TooManyRequestsException", err)
	}
	g.release()
	if err := <-first; err != nil {
		t.Errorf("the first invocation: %v", err)
	}
}

func TestAFailedInvocationIsAFunctionError(t *testing.T) {
	_, client := startTestFunction(t, 1)
	out, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"), Payload: []byte(`{"fail":"no luck"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.FunctionError), "Unhandled"; got != want {
		t.Errorf("function error: got %q, want %q", got, want)
	}
	if got, want := string(out.Payload), "no luck"; !strings.Contains(got, want) {
		t.Errorf("payload: got %s, want the error's message %q", got, want)
	}
}

func TestAnUnknownFunctionIsNotFound(t *testing.T) {
	_, client := startTestFunction(t, 1)
	_, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("another"), Payload: []byte(`{}`)})
	var notFound *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("got %v, want ResourceNotFoundException", err)
	}
}

func TestAnInvocationSignedWithAnotherSecretIsRefused(t *testing.T) {
	s, _ := startTestFunction(t, 1)
	client := lambda.New(lambda.Options{Region: awsRegion, BaseEndpoint: aws.String(newLoopbackServer(t, s.invokeAPI())),
		Credentials: credentials.NewStaticCredentialsProvider(awsKeyID, "not-the-secret", ""), RetryMaxAttempts: 1})
	_, err := client.Invoke(ctxFor(t), &lambda.InvokeInput{FunctionName: aws.String("testfunction"), Payload: []byte(`{}`)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want an API error", err)
	}
	if got, want := apiErr.ErrorCode(), "InvalidSignatureException"; got != want {
		t.Errorf("error code: got %q, want %q", got, want)
	}
}

func TestTwoRequestsAtOnceToTheFunctionURLRunOnTwoInstances(t *testing.T) {
	s := newLambdaService(t, "testfunction", testFunction(t), nil, 4)
	url := newLoopbackServer(t, s.functionURL())
	g := newGate(t)
	type answer struct {
		pid string
		err error
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(url + "/page?hold=" + g.url)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("%s: %s", resp.Status, body)
			}
			answers <- answer{string(body), err}
		}()
	}
	g.waitArrivals(t, 2)
	g.release()
	pids := map[string]bool{}
	for range 2 {
		a := <-answers
		if a.err != nil {
			t.Fatal(a.err)
		}
		pids[a.pid] = true
	}
	if got, want := len(pids), 2; got != want {
		t.Errorf("processes that answered: got %d, want %d", got, want)
	}
	if got, want := s.instancesStarted(), 2; got != want {
		t.Errorf("instances started: got %d, want %d", got, want)
	}
}
