// The AWS SDK for JavaScript v3 as a client of claudebridge's Bedrock front
// door (/model/...), on the gateway whose upstream is the Anthropic API
// emulator: code written for Bedrock, served by the Anthropic API with no
// change but the endpoint. The SDK speaks HTTP/2 (prior-knowledge h2c on an
// http:// endpoint) by default; one test also goes over HTTP/1.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  ValidationException,
  ThrottlingException,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { gateways, awsRegion, awsCredentials, nonce } from './env.mjs';

const frontDoorURL = gateways.find((g) => g.name === 'anthropic').url;
const profile = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

function client(options = {}) {
  return new BedrockRuntimeClient({
    endpoint: frontDoorURL,
    region: awsRegion,
    credentials: awsCredentials,
    maxAttempts: 1,
    ...options,
  });
}

function invokeBody(text, extra = {}) {
  return JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 256,
    messages: [{ role: 'user', content: text }],
    ...extra,
  });
}

describe('AWS SDK for JavaScript v3 against the Bedrock front door', { concurrency: true }, () => {
  it('InvokeModel', async () => {
    const prompt = `Hello front door ${nonce()}`;
    const out = await client().send(new InvokeModelCommand({
      modelId: profile, contentType: 'application/json', accept: 'application/json', body: invokeBody(prompt),
    }));
    const msg = JSON.parse(new TextDecoder().decode(out.body));
    assert.equal(msg.type, 'message');
    assert.ok(msg.content[0].text.includes(prompt), msg.content[0].text);
    assert.ok(msg.usage.output_tokens > 0);
    assert.ok(out.$metadata.requestId);
  });

  it('InvokeModel over HTTP/1.1', async () => {
    const out = await client({ requestHandler: new NodeHttpHandler() }).send(new InvokeModelCommand({
      modelId: profile, body: invokeBody(`Over h1 ${nonce()}`),
    }));
    assert.equal(JSON.parse(new TextDecoder().decode(out.body)).type, 'message');
  });

  it('InvokeModelWithResponseStream', async () => {
    const out = await client().send(new InvokeModelWithResponseStreamCommand({
      modelId: profile, body: invokeBody(`Stream please ${nonce()}`),
    }));
    const events = [];
    for await (const item of out.body) {
      assert.ok(item.chunk, `unexpected member ${Object.keys(item)}`);
      events.push(JSON.parse(new TextDecoder().decode(item.chunk.bytes)));
    }
    assert.equal(events[0].type, 'message_start');
    const last = events[events.length - 1];
    assert.equal(last.type, 'message_stop');
    assert.ok(last['amazon-bedrock-invocationMetrics'].outputTokenCount > 0);
    const text = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text ?? '').join('');
    assert.ok(text.length > 0);
  });

  it('Converse with system and inferenceConfig', async () => {
    const prompt = `Converse hello ${nonce()}`;
    const out = await client().send(new ConverseCommand({
      modelId: profile,
      system: [{ text: 'You are terse.' }],
      messages: [{ role: 'user', content: [{ text: prompt }] }],
      inferenceConfig: { maxTokens: 200, temperature: 0.2 },
    }));
    assert.equal(out.stopReason, 'end_turn');
    assert.ok(out.output.message.content[0].text.includes(prompt));
    assert.ok(out.usage.inputTokens > 0 && out.usage.outputTokens > 0);
  });

  it('ConverseStream with a tool', async () => {
    const out = await client().send(new ConverseStreamCommand({
      modelId: profile,
      messages: [{ role: 'user', content: [{ text: `Weather in Paris? ${nonce()}` }] }],
      inferenceConfig: { maxTokens: 300 },
      toolConfig: {
        tools: [{ toolSpec: { name: 'get_weather', description: 'Weather of a city',
          inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } } }],
        toolChoice: { any: {} },
      },
    }));
    let tool = '';
    let input = '';
    let stop = '';
    let usage;
    for await (const ev of out.stream) {
      if (ev.contentBlockStart?.start?.toolUse) tool = ev.contentBlockStart.start.toolUse.name;
      if (ev.contentBlockDelta?.delta?.toolUse) input += ev.contentBlockDelta.delta.toolUse.input;
      if (ev.messageStop) stop = ev.messageStop.stopReason;
      if (ev.metadata) usage = ev.metadata.usage;
    }
    assert.equal(tool, 'get_weather');
    assert.ok(JSON.parse(input).city);
    assert.equal(stop, 'tool_use');
    assert.ok(usage.outputTokens > 0);
  });

  it('Converse and ConverseStream return the stop sequence at the path asked', async () => {
    const messages = [{ role: 'user', content: [{ text: `Quote ZEBRA please ${nonce()}` }] }];
    const out = await client().send(new ConverseCommand({
      modelId: profile, messages, inferenceConfig: { maxTokens: 200, stopSequences: ['ZEBRA'] },
      additionalModelResponseFieldPaths: ['/stop_sequence'],
    }));
    assert.equal(out.stopReason, 'stop_sequence');
    assert.deepEqual(out.additionalModelResponseFields, { stop_sequence: 'ZEBRA' });

    const streamed = await client().send(new ConverseStreamCommand({
      modelId: profile, messages, inferenceConfig: { maxTokens: 200, stopSequences: ['ZEBRA'] },
      additionalModelResponseFieldPaths: ['/delta/stop_sequence'],
    }));
    let fields;
    for await (const ev of streamed.stream) {
      if (ev.messageStop) fields = ev.messageStop.additionalModelResponseFields;
    }
    assert.deepEqual(fields, { delta: { stop_sequence: 'ZEBRA' } });
  });

  it('CountTokens', async () => {
    const out = await client().send(new CountTokensCommand({
      modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
      input: { converse: { messages: [{ role: 'user', content: [{ text: 'Count me' }] }] } },
    }));
    assert.ok(out.inputTokens > 0);
  });

  it('refuses what Bedrock refuses, with its own errors', async () => {
    await assert.rejects(
      client().send(new InvokeModelCommand({ modelId: profile, body: invokeBody('hi', { model: 'claude-sonnet-4-5' }) })),
      (err) => err instanceof ValidationException && err.message.includes('extraneous key [model] is not permitted'),
    );
    await assert.rejects(
      client().send(new InvokeModelCommand({ modelId: profile, body: invokeBody(`hi [[throttle]] ${nonce()}`) })),
      (err) => err instanceof ThrottlingException && err.$metadata.httpStatusCode === 429,
    );
  });

  it('refuses a wrong secret', async () => {
    await assert.rejects(
      client({ credentials: { ...awsCredentials, secretAccessKey: 'not-the-secret' } })
        .send(new InvokeModelCommand({ modelId: profile, body: invokeBody('hi') })),
      (err) => err.name === 'InvalidSignatureException' && err.$metadata.httpStatusCode === 403,
    );
  });
});
