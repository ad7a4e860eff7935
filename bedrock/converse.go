package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/converse"
)

// The Bedrock APIs a model can be called through.
const (
	// APIInvoke is InvokeModel / InvokeModelWithResponseStream with the
	// Anthropic Messages body: the stream is copied, not translated.
	APIInvoke = "invoke"
	// APIConverse is Converse / ConverseStream: the request and the answer
	// are translated by package converse.
	APIConverse = "converse"
)

// usesConverse reports whether a call for model (the client's id), going
// to t, is made through Converse. Models known not to be Anthropic's always
// are: InvokeModel would want their own body format. For Anthropic models
// (and targets whose base model is unknown) Options.APIByModel decides, by
// the client's id or the base id, then Options.API.
func (u *Upstream) usesConverse(model string, t target) bool {
	if t.Base != "" && !strings.HasPrefix(t.Base, "anthropic.") {
		return true
	}
	api := u.opts.API
	if v, ok := u.opts.APIByModel[model]; ok {
		api = v
	} else if v, ok := u.opts.APIByModel[t.Base]; ok && t.Base != "" {
		api = v
	}
	return api == APIConverse
}

// guardrail returns the guardrail identifier and version to send, nil when
// no guardrail is configured. The version defaults to "DRAFT", the working
// version every guardrail has.
func (u *Upstream) guardrail() (id, version *string) {
	if u.opts.GuardrailID == "" {
		return nil, nil
	}
	v := u.opts.GuardrailVersion
	if v == "" {
		v = "DRAFT"
	}
	return aws.String(u.opts.GuardrailID), aws.String(v)
}

// converseBody makes the Converse body of the Messages body that InvokeModel
// would get (betas in anthropic_beta, refused fields dropped), so that the
// learning of adapt, which reads Bedrock's complaints against the Messages
// shape, works the same on both APIs. anthropic_beta travels in
// additionalModelRequestFields, where Bedrock passes it to Claude models.
//
// The body is made here from fields the gateway validated, so package
// converse translates it in one walk, without checking it again. stream
// says whether it is for ConverseStream.
func (u *Upstream) converseBody(invoke []byte, stream bool) ([]byte, error) {
	translate := converse.RequestFromMessagesBody
	if stream {
		translate = converse.StreamRequestFromMessagesBody
	}
	out, err := translate(invoke)
	if err != nil {
		return nil, err
	}
	if id, version := u.guardrail(); id != nil {
		gc, _ := json.Marshal(map[string]string{"guardrailIdentifier": *id, "guardrailVersion": *version})
		out = append(append(append(out[:len(out)-1], `,"guardrailConfig":`...), gc...), '}')
	}
	return out, nil
}

// prepareConverse readies c for Converse: a model that is not Anthropic's
// takes no anthropic_beta, so the client's flags are not sent to it.
func (u *Upstream) prepareConverse(c *call) {
	c.converse = true
	if !strings.HasPrefix(c.target.Base, "anthropic.") && c.target.Base != "" {
		if len(c.betas) > 0 {
			u.log.Debug("bedrock: anthropic-beta flags not sent to a model that is not Anthropic's", "model", c.target.Base, "betas", c.betas)
		}
		c.noBeta = true
	}
}

// converseMessages makes a Converse call and translates the answer into a
// Messages response naming the model the client asked for.
func (u *Upstream) converseMessages(ctx context.Context, r *claudebridge.Request, c *call) (*claudebridge.Response, error) {
	u.prepareConverse(c)
	var raw rawExchange
	err := u.adapt(r, c, func(body *segments) error {
		cv, err := u.converseBody(body.bytes(), false)
		if err != nil {
			return err
		}
		raw = rawExchange{body: cv, placeholder: "{}"}
		_, err = u.runtime.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(c.target.Invoke)}, raw.options)
		return err
	})
	if err != nil {
		return nil, mapError(err)
	}
	if raw.resp == nil {
		return nil, &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: 502, Message: "Bedrock answered Converse without a body"}
	}
	data, err := io.ReadAll(raw.resp)
	raw.resp.Close()
	if err != nil {
		return nil, mapError(err)
	}
	msg, err := converse.ResponseToMessages(data, r.Model)
	if err != nil {
		return nil, err
	}
	return &claudebridge.Response{Body: msg, Usage: anthropic.UsageOf(msg)}, nil
}

// converseStream makes a ConverseStream call and returns once Bedrock has
// accepted it; its events are translated into the Messages SSE sequence.
func (u *Upstream) converseStream(ctx context.Context, r *claudebridge.Request, c *call) (claudebridge.Stream, error) {
	u.prepareConverse(c)
	sctx, cancel := context.WithCancel(ctx)
	var raw rawExchange
	err := u.adapt(r, c, func(body *segments) error {
		cv, err := u.converseBody(body.bytes(), true)
		if err != nil {
			return err
		}
		raw = rawExchange{body: cv}
		out, err := u.runtime.ConverseStream(sctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(c.target.Invoke)}, raw.options, ownProtocol)
		raw.body = nil // sent: the middlewares that hold raw need it no more while the answer streams
		if err == nil {
			// The SDK's reader got an empty body (see rawExchange) and has
			// ended; closing it releases its goroutine at once.
			out.GetStream().Close()
		}
		return err
	})
	if err == nil && raw.resp == nil {
		err = &claudebridge.Error{Code: claudebridge.EINTERNAL, Status: 502, Message: "Bedrock answered ConverseStream without a body"}
	}
	if err != nil {
		cancel()
		return nil, mapError(err)
	}
	return newConverseStream(raw.resp, cancel, r.Model), nil
}

// rawExchange lets the AWS SDK make a Converse or ConverseStream call with
// a body written elsewhere and hands back the raw answer.
//
// Why not the SDK's typed input and output: package converse already writes
// and reads the Converse JSON wire, and going through the SDK's types would
// mean a second translation, JSON ⇄ Go structs, through document types
// (tool input, additionalModelRequestFields) and blobs (images, redacted
// reasoning) that do not round-trip byte for byte, for every request and
// every stream event. So the SDK is given an input with only the model id,
// and two middlewares do the rest:
//
//   - after the SDK's serializer (Serialize step), the body it wrote is
//     replaced by ours. Content length, the payload hash and the SigV4 (or
//     bearer) signature are made later, in the Build and Finalize steps,
//     so they cover our body;
//   - next to the transport (innermost in the Deserialize step), a 200
//     answer's body is taken and the SDK's deserializer is given
//     placeholder instead ("{}" for Converse: an empty output; "" for
//     ConverseStream: an event stream that ends at once). The event-stream
//     frames are then read with the SDK's own frame decoder
//     (aws/protocol/eventstream, CRCs checked), and each event's JSON goes
//     to converse.StreamToMessages as Bedrock sent it. Error answers are
//     left alone, so the SDK decodes exceptions as for InvokeModel and
//     mapError maps them the same way.
type rawExchange struct {
	body        []byte
	placeholder string
	resp        io.ReadCloser // the body of a 200 answer
}

func (x *rawExchange) options(o *bedrockruntime.Options) {
	o.APIOptions = append(o.APIOptions, x.middlewares)
}

func (x *rawExchange) middlewares(s *middleware.Stack) error {
	swap := middleware.SerializeMiddlewareFunc("claudebridge.ConverseBody", func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			req, err := req.SetStream(bytes.NewReader(x.body))
			if err != nil {
				return middleware.SerializeOutput{}, middleware.Metadata{}, err
			}
			req.ContentLength = int64(len(x.body))
			req.Header.Set("Content-Type", "application/json")
			in.Request = req
		}
		return next.HandleSerialize(ctx, in)
	})
	if err := s.Serialize.Add(swap, middleware.After); err != nil {
		return err
	}
	take := middleware.DeserializeMiddlewareFunc("claudebridge.ConverseAnswer", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleDeserialize(ctx, in)
		if err != nil {
			return out, md, err
		}
		if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp.StatusCode == 200 {
			x.resp = resp.Body
			resp.Body = io.NopCloser(strings.NewReader(x.placeholder))
		}
		return out, md, err
	})
	return s.Deserialize.Add(take, middleware.After)
}
