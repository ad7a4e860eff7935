// Command testfunction is the Lambda function the e2e stand-ins of the
// Lambda service and of API Gateway's WebSocket API are tested with
// (e2e/lambdaservice_test.go, e2e/apigateway_test.go).
//
// Invoked directly, with {"hold": URL, "fail": TEXT}, it GETs URL (the
// test answers when it lets the invocation go on), then fails with TEXT
// if given, else answers {"pid": its process id}: the pid tells the
// execution environments apart.
//
// Behind a Function URL, it GETs the URL in the query parameter hold if
// any, then answers its pid as text/plain, streamed (RESPONSE_STREAM).
//
// Behind the WebSocket API: $connect is accepted (statusCode 200) only with
// the query parameter ticket=open-sesame, else refused with 403. A $default
// message is answered through the @connections API (the AWS SDK's
// apigatewaymanagementapi client, its endpoint from
// AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI): "event" sends back the event
// as received, "hold URL" GETs URL first then echoes, "fail" fails the
// invocation, anything else is echoed. $connect and $disconnect events are
// POSTed to TESTFUNCTION_NOTIFY_URL when it is set.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

func main() {
	lambda.Start(handle)
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Version        string `json:"version"`
		RawPath        string `json:"rawPath"`
		RequestContext struct {
			RouteKey string `json:"routeKey"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	if probe.Version == "2.0" && probe.RawPath != "" {
		var req events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		if hold := req.QueryStringParameters["hold"]; hold != "" {
			if err := get(ctx, hold); err != nil {
				return nil, err
			}
		}
		return &events.LambdaFunctionURLStreamingResponse{StatusCode: http.StatusOK,
			Headers: map[string]string{"Content-Type": "text/plain"}, Body: strings.NewReader(fmt.Sprint(os.Getpid()))}, nil
	}
	if probe.RequestContext.RouteKey != "" {
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return route(ctx, ev, raw)
	}
	var in struct {
		Hold string `json:"hold"`
		Fail string `json:"fail"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	if in.Hold != "" {
		if err := get(ctx, in.Hold); err != nil {
			return nil, err
		}
	}
	if in.Fail != "" {
		return nil, errors.New(in.Fail)
	}
	return map[string]int{"pid": os.Getpid()}, nil
}

func route(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest, raw []byte) (events.APIGatewayProxyResponse, error) {
	ok := events.APIGatewayProxyResponse{StatusCode: http.StatusOK}
	switch ev.RequestContext.RouteKey {
	case "$connect", "$disconnect":
		if url := os.Getenv("TESTFUNCTION_NOTIFY_URL"); url != "" {
			resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
			if err != nil {
				return ok, err
			}
			resp.Body.Close()
		}
		if ev.RequestContext.RouteKey == "$connect" && ev.QueryStringParameters["ticket"] != "open-sesame" {
			return events.APIGatewayProxyResponse{StatusCode: http.StatusForbidden}, nil
		}
		return ok, nil
	}
	reply := []byte(ev.Body)
	switch {
	case ev.Body == "event":
		reply = raw
	case ev.Body == "fail":
		return ok, errors.New("asked to fail")
	case strings.HasPrefix(ev.Body, "hold "):
		if err := get(ctx, strings.TrimPrefix(ev.Body, "hold ")); err != nil {
			return ok, err
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return ok, err
	}
	_, err = apigatewaymanagementapi.NewFromConfig(cfg).PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(ev.RequestContext.ConnectionID), Data: reply})
	return ok, err
}

// get GETs url and wants a 200.
func get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
