// The AWS SDK for JavaScript v3 as a client of the Bedrock emulator itself:
// the emulator must pass for Bedrock with the official SDK, which speaks
// HTTP/2 to Bedrock (NodeHttp2Handler is the runtime client's default; with
// an http:// endpoint Node's http2.connect uses prior-knowledge h2c).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { bedrockEmulatorURL, awsRegion, awsCredentials, nonce } from './env.mjs';

const profile = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const base = 'anthropic.claude-sonnet-4-5-20250929-v1:0';

function client(options = {}) {
  return new BedrockRuntimeClient({
    endpoint: bedrockEmulatorURL,
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

/** A NodeHttp2Handler that counts the requests it carried. */
class CountingHttp2Handler extends NodeHttp2Handler {
  calls = 0;
  handle(request, options) {
    this.calls += 1;
    return super.handle(request, options);
  }
}

describe('AWS SDK for JavaScript v3 against the Bedrock emulator', { concurrency: true }, () => {
  it('InvokeModel', async () => {
    const prompt = `Hello Bedrock ${nonce()}`;
    const out = await client().send(new InvokeModelCommand({
      modelId: profile, contentType: 'application/json', accept: 'application/json', body: invokeBody(prompt),
    }));
    const msg = JSON.parse(new TextDecoder().decode(out.body));
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.ok(msg.content[0].text.includes(prompt), msg.content[0].text);
    assert.ok(msg.usage.input_tokens > 0);
    assert.ok(out.$metadata.requestId);
  });

  it('InvokeModelWithResponseStream: chunks decode to the Messages events', async () => {
    const out = await client().send(new InvokeModelWithResponseStreamCommand({
      modelId: profile, contentType: 'application/json', body: invokeBody(`Stream ${nonce()}`),
    }));
    const types = [];
    let last;
    for await (const event of out.body) {
      assert.ok(event.chunk, `not a chunk: ${Object.keys(event)}`);
      last = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
      types.push(last.type);
    }
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.ok(types.includes('content_block_delta'));
    assert.ok(last['amazon-bedrock-invocationMetrics'], 'Bedrock puts its metrics on the last chunk');
  });

  it('InvokeModelWithResponseStream: an exception frame mid-stream throws', async () => {
    const out = await client().send(new InvokeModelWithResponseStreamCommand({
      modelId: profile, contentType: 'application/json', body: invokeBody(`Fail [[stream-error=2]] ${nonce()}`),
    }));
    const types = [];
    await assert.rejects(
      (async () => {
        for await (const event of out.body) types.push(JSON.parse(new TextDecoder().decode(event.chunk.bytes)).type);
      })(),
      (err) => err.name === 'ModelStreamErrorException',
    );
    assert.deepEqual(types, ['message_start', 'content_block_start']);
  });

  it('Converse', async () => {
    const prompt = `Converse ${nonce()}`;
    const out = await client().send(new ConverseCommand({
      modelId: profile,
      messages: [{ role: 'user', content: [{ text: prompt }] }],
      inferenceConfig: { maxTokens: 256 },
    }));
    assert.equal(out.stopReason, 'end_turn');
    assert.ok(out.output.message.content[0].text.includes(prompt));
    assert.ok(out.usage.inputTokens > 0 && out.usage.outputTokens > 0);
  });

  it('ConverseStream', async () => {
    const out = await client().send(new ConverseStreamCommand({
      modelId: profile,
      messages: [{ role: 'user', content: [{ text: `Converse stream ${nonce()}` }] }],
      inferenceConfig: { maxTokens: 256 },
    }));
    const kinds = [];
    let text = '';
    for await (const event of out.stream) {
      const kind = Object.keys(event).find((k) => event[k] !== undefined);
      kinds.push(kind);
      if (event.contentBlockDelta?.delta?.text) text += event.contentBlockDelta.delta.text;
    }
    assert.equal(kinds[0], 'messageStart');
    assert.ok(kinds.includes('contentBlockDelta'));
    assert.ok(kinds.includes('messageStop'));
    assert.equal(kinds.at(-1), 'metadata');
    assert.ok(text.includes('Converse stream'));
  });

  it('Converse and ConverseStream give tool uses tooluse_ ids and the stop sequence at the path asked', async () => {
    const toolConfig = {
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather of a city',
        inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } } }],
      toolChoice: { any: {} },
    };
    const messages = [{ role: 'user', content: [{ text: `Weather in Paris? ${nonce()}` }] }];
    const out = await client().send(new ConverseCommand({ modelId: profile, messages, toolConfig }));
    const use = out.output.message.content.find((b) => b.toolUse).toolUse;
    assert.match(use.toolUseId, /^tooluse_[A-Za-z0-9]{22}$/);

    const stream = await client().send(new ConverseStreamCommand({ modelId: profile, messages, toolConfig }));
    let id = '';
    for await (const ev of stream.stream) {
      if (ev.contentBlockStart?.start?.toolUse) id = ev.contentBlockStart.start.toolUse.toolUseId;
    }
    assert.match(id, /^tooluse_/);

    const quote = [{ role: 'user', content: [{ text: `Quote ZEBRA please ${nonce()}` }] }];
    const stopped = await client().send(new ConverseCommand({
      modelId: profile, messages: quote, inferenceConfig: { stopSequences: ['ZEBRA'] },
      additionalModelResponseFieldPaths: ['/stop_sequence'],
    }));
    assert.equal(stopped.stopReason, 'stop_sequence');
    assert.deepEqual(stopped.additionalModelResponseFields, { stop_sequence: 'ZEBRA' });

    const streamed = await client().send(new ConverseStreamCommand({
      modelId: profile, messages: quote, inferenceConfig: { stopSequences: ['ZEBRA'] },
      additionalModelResponseFieldPaths: ['/delta/stop_sequence'],
    }));
    let fields;
    for await (const ev of streamed.stream) {
      if (ev.messageStop) fields = ev.messageStop.additionalModelResponseFields;
    }
    assert.deepEqual(fields, { delta: { stop_sequence: 'ZEBRA' } });
  });

  it('CountTokens takes a base model id', async () => {
    const count = async (text) => (await client().send(new CountTokensCommand({
      modelId: base,
      input: { invokeModel: { body: new TextEncoder().encode(invokeBody(text)) } },
    }))).inputTokens;
    const short = await count('Hello');
    const long = await count('Hello there, how are you? '.repeat(40));
    assert.ok(short > 0 && long > short, `${short} ${long}`);
  });

  it('a bad signature is refused with 403', async () => {
    const bad = client({ credentials: { accessKeyId: awsCredentials.accessKeyId, secretAccessKey: 'not-the-secret' } });
    await assert.rejects(
      bad.send(new InvokeModelCommand({ modelId: profile, contentType: 'application/json', body: invokeBody(`Hi ${nonce()}`) })),
      (err) => err.$metadata?.httpStatusCode === 403 && /Signature/.test(err.name + err.message),
    );
  });

  it('HTTP/2 with an explicit NodeHttp2Handler (prior-knowledge h2c)', async () => {
    const handler = new CountingHttp2Handler();
    const c = client({ requestHandler: handler });
    try {
      const out = await c.send(new InvokeModelCommand({
        modelId: profile, contentType: 'application/json', body: invokeBody(`h2 ${nonce()}`),
      }));
      assert.equal(JSON.parse(new TextDecoder().decode(out.body)).type, 'message');
      const stream = await c.send(new InvokeModelWithResponseStreamCommand({
        modelId: profile, contentType: 'application/json', body: invokeBody(`h2 stream ${nonce()}`),
      }));
      let n = 0;
      for await (const event of stream.body) if (event.chunk) n += 1;
      assert.ok(n > 3);
      assert.equal(handler.calls, 2, 'both calls went through the HTTP/2 handler');
    } finally {
      c.destroy();
    }
  });

  it('HTTP/1.1 with NodeHttpHandler', async () => {
    const c = client({ requestHandler: new NodeHttpHandler() });
    const out = await c.send(new InvokeModelCommand({
      modelId: profile, contentType: 'application/json', body: invokeBody(`h1 ${nonce()}`),
    }));
    assert.equal(JSON.parse(new TextDecoder().decode(out.body)).type, 'message');
    c.destroy();
  });
});
