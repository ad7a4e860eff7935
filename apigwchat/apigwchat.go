// Package apigwchat runs the chat's WebSocket behind API Gateway's
// WebSocket API, on AWS Lambda: it decodes the events of the $connect,
// $disconnect and $default routes (aws-lambda-go's
// APIGatewayWebsocketProxyRequest) and the function's own turn jobs, hands
// them to the chat, posts the chat's frames to connections with the API
// Gateway Management API's PostToConnection, and launches each turn as an
// asynchronous invocation of the function itself (Lambda's Invoke,
// InvocationType Event).
//
// Why a turn runs in an invocation of its own: API Gateway waits at most 29
// seconds for a route's integration, and Lambda freezes an instance once
// its invocation has answered, so a $default invocation can neither hold a
// turn nor go on with it after answering. The job invocation runs as long
// as the function's timeout allows, and reads what pages ask of its turn
// (follow, stop) from the store, since invocations share no memory.
package apigwchat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/chat"
)

// Chat is what the host asks of the chat (a *chat.Server).
type Chat interface {
	ConnectSocket(ctx context.Context, r *http.Request, id string) (int64, error)
	DisconnectSocket(ctx context.Context, id string) error
	SocketMessage(ctx context.Context, id string, body []byte, out chat.Connections, jobs chat.JobLauncher) error
	RunSocketJob(ctx context.Context, job chat.SocketJob, out chat.Connections) error
}

// Options configure a Host.
type Options struct {
	Chat Chat
	// AWS is the SDK's configuration (config.LoadDefaultConfig): region,
	// credentials, and the endpoints AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI
	// and AWS_ENDPOINT_URL_LAMBDA name, if set.
	AWS aws.Config
	// FunctionName is the function the jobs invoke: itself
	// (AWS_LAMBDA_FUNCTION_NAME).
	FunctionName string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Host answers the WebSocket API's events and the turn jobs.
type Host struct {
	opts   Options
	log    *slog.Logger
	lambda *lambda.Client
	// managementEndpointSet says AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI
	// names the Management API: the SDK then takes it, and the event's
	// endpoint is not forced on it.
	managementEndpointSet bool

	mu      sync.Mutex
	clients map[string]*apigatewaymanagementapi.Client // by endpoint
}

// New returns a Host with opts.
func New(opts Options) *Host {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Host{opts: opts, log: opts.Logger, lambda: lambda.NewFromConfig(opts.AWS),
		managementEndpointSet: os.Getenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI") != "",
		clients:               map[string]*apigatewaymanagementapi.Client{}}
}

// jobEvent is the event of the function's own asynchronous invocation
// that runs a turn; Kind tells it from the events of other sources.
type jobEvent struct {
	Kind string `json:"claudebridge"` // jobKind
	chat.SocketJob
	// Endpoint is the Management API of the connection's API and stage.
	Endpoint string `json:"endpoint"`
}

const jobKind = "socket_job"

// Handle answers one invocation whose event is not a Function URL's (a
// lambdaurl.EventHandler).
func (h *Host) Handle(ctx context.Context, event []byte) ([]byte, error) {
	var job jobEvent
	if err := json.Unmarshal(event, &job); err == nil && job.Kind == jobKind {
		if err := h.opts.Chat.RunSocketJob(ctx, job.SocketJob, h.connections(job.Endpoint)); err != nil {
			h.log.Warn("chat: a turn job ended early", "err", err)
		}
		// The job's own answer goes nowhere (an asynchronous invocation);
		// an error would only make Lambda log it twice.
		return []byte("{}"), nil
	}
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(event, &ev); err != nil || ev.RequestContext.ConnectionID == "" {
		return nil, fmt.Errorf("apigwchat: neither an API Gateway WebSocket event nor a turn job")
	}
	return json.Marshal(h.route(ctx, &ev))
}

// route answers one event of the WebSocket API: its statusCode decides,
// on $connect, whether API Gateway opens the connection.
func (h *Host) route(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest) events.APIGatewayProxyResponse {
	id := ev.RequestContext.ConnectionID
	endpoint := managementEndpoint(ev)
	switch ev.RequestContext.RouteKey {
	case "$connect":
		if _, err := h.opts.Chat.ConnectSocket(ctx, handshake(ev), id); err != nil {
			return refusal(err)
		}
	case "$disconnect":
		if err := h.opts.Chat.DisconnectSocket(ctx, id); err != nil {
			h.log.Warn("chat: forgetting a closed connection", "err", err)
		}
	default:
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(ev.Body)
			if err != nil {
				return events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest}
			}
			body = b
		}
		jobs := launcher{h: h, endpoint: endpoint}
		if err := h.opts.Chat.SocketMessage(ctx, id, body, h.connections(endpoint), jobs); err != nil {
			h.log.Warn("chat: a frame of an unknown connection", "err", err)
			return refusal(err)
		}
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}
}

// refusal is the answer to a connect the chat refused: 401 or 403 (API
// Gateway refuses the handshake with it), else the status of err's code.
func refusal(err error) events.APIGatewayProxyResponse {
	status, _ := anthropic.Status(claudebridge.ErrorCode(err))
	return events.APIGatewayProxyResponse{StatusCode: status, Body: claudebridge.ErrorMessage(err)}
}

// handshake is the WebSocket handshake as API Gateway passed it on: its
// headers (the cookie and the Origin among them), its query, and the API's
// domain as Host.
func handshake(ev *events.APIGatewayWebsocketProxyRequest) *http.Request {
	q := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		q[k] = vs
	}
	for k, v := range ev.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q.Set(k, v)
		}
	}
	u := &url.URL{Scheme: "https", Host: ev.RequestContext.DomainName, Path: "/" + ev.RequestContext.Stage, RawQuery: q.Encode()}
	r := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	for k, vs := range ev.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for k, v := range ev.Headers {
		if r.Header.Get(k) == "" {
			r.Header.Set(k, v)
		}
	}
	if ip := ev.RequestContext.Identity.SourceIP; ip != "" {
		r.RemoteAddr = ip
	}
	return r
}

// managementEndpoint is the Management API of the event's API and stage,
// as API Gateway documents it: https://{domainName}/{stage}. A custom
// domain's events name the API's own domain as well.
func managementEndpoint(ev *events.APIGatewayWebsocketProxyRequest) string {
	return "https://" + ev.RequestContext.DomainName + "/" + ev.RequestContext.Stage
}

// connections posts to the connections of the API at endpoint.
func (h *Host) connections(endpoint string) chat.Connections {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[endpoint]
	if c == nil {
		c = apigatewaymanagementapi.NewFromConfig(h.opts.AWS, func(o *apigatewaymanagementapi.Options) {
			if !h.managementEndpointSet && endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		})
		h.clients[endpoint] = c
	}
	return poster{c}
}

// poster is chat.Connections through PostToConnection.
type poster struct {
	client *apigatewaymanagementapi.Client
}

func (p poster) Post(ctx context.Context, id string, frame []byte) error {
	_, err := p.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: frame})
	var gone *types.GoneException
	if errors.As(err, &gone) {
		return fmt.Errorf("%w: %v", chat.ErrGone, err)
	}
	return err
}

// launcher is chat.JobLauncher through an asynchronous Invoke of the
// function itself.
type launcher struct {
	h        *Host
	endpoint string
}

func (l launcher) Launch(ctx context.Context, job chat.SocketJob) error {
	payload, err := json.Marshal(jobEvent{Kind: jobKind, SocketJob: job, Endpoint: l.endpoint})
	if err != nil {
		return err
	}
	_, err = l.h.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(l.h.opts.FunctionName),
		InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload})
	if err != nil {
		l.h.log.Error("chat: launching a turn job", "err", err)
		return claudebridge.Errorf(claudebridge.EOVERLOADED, "The answer could not be started; try again")
	}
	return nil
}
