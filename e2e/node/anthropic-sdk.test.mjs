// The Anthropic TypeScript SDK through claudebridge, to each emulator.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { gateways, gatewayKey, corsOrigin, nonce } from './env.mjs';

const onePixelPNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather of a city',
  input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
};

/** The SDK's own retries are off: a success after a fault is the gateway's retry. */
function client(gw, options = {}) {
  return new Anthropic({ apiKey: gatewayKey, baseURL: gw.url, maxRetries: 0, ...options });
}

function user(gw, text, extra = {}) {
  return { model: gw.model, max_tokens: 512, messages: [{ role: 'user', content: text }], ...extra };
}

function textOf(message) {
  return message.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
}

/** Checks the Messages stream grammar of a list of event types. */
function assertEventOrder(types) {
  const events = types.filter((t) => t !== 'ping');
  assert.equal(events[0], 'message_start', `events ${events}`);
  assert.equal(events.at(-1), 'message_stop', `events ${events}`);
  assert.equal(events.at(-2), 'message_delta', `events ${events}`);
  let open = false;
  for (const t of events.slice(1, -2)) {
    if (t === 'content_block_start') {
      assert.ok(!open, `block inside a block: ${events}`);
      open = true;
    } else if (t === 'content_block_delta') {
      assert.ok(open, `delta outside a block: ${events}`);
    } else if (t === 'content_block_stop') {
      assert.ok(open, `stop outside a block: ${events}`);
      open = false;
    } else {
      assert.fail(`unexpected ${t} among the blocks: ${events}`);
    }
  }
  assert.ok(!open, `a block was never stopped: ${events}`);
}

/** Asserts that promise fails with the SDK's APIError of that status and type. */
async function rejectsWith(promise, status, type) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Anthropic.APIError, `want an APIError, got ${err}`);
    assert.equal(err.status, status, `status of ${err.message}`);
    assert.equal(err.type, type, `type of ${err.message}`);
    assert.ok(err.requestID, 'no request-id');
    return true;
  });
}

/** Reads a raw SSE response into {event, data} pairs. */
async function readSSE(response) {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? '';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      return { event, data };
    });
}

for (const gw of gateways) {
  describe(`Anthropic SDK through the ${gw.name} gateway`, { concurrency: true }, () => {
    it('answers text', async () => {
      const prompt = `Say hello ${nonce()}`;
      const msg = await client(gw).messages.create(user(gw, prompt));
      assert.ok(textOf(msg).includes(prompt), textOf(msg));
      assert.equal(msg.stop_reason, 'end_turn');
      assert.ok(msg.model.startsWith(gw.model), msg.model);
      if (gw.name === 'bedrock') assert.equal(msg.model, gw.model);
      assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
    });

    it('streams events in order with messages.stream', async () => {
      const prompt = `Stream please ${nonce()}`;
      const stream = client(gw).messages.stream(user(gw, prompt));
      const types = [];
      let deltas = '';
      for await (const ev of stream) {
        types.push(ev.type);
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') deltas += ev.delta.text;
      }
      const final = await stream.finalMessage();
      assertEventOrder(types);
      assert.equal(textOf(final), deltas);
      assert.ok(deltas.includes(prompt));
      assert.equal(final.stop_reason, 'end_turn');
    });

    it('streams events in order with stream: true', async () => {
      const stream = await client(gw).messages.create({ ...user(gw, `Raw stream ${nonce()}`), stream: true });
      const types = [];
      for await (const ev of stream) types.push(ev.type);
      assertEventOrder(types);
    });

    it('writes event: lines for every SSE event', async () => {
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': gatewayKey },
        body: JSON.stringify({ ...user(gw, `SSE ${nonce()}`), stream: true }),
      });
      assert.equal(res.status, 200);
      const events = await readSSE(res);
      for (const { event, data } of events) {
        assert.ok(event, `data without event: ${data}`);
        assert.equal(JSON.parse(data).type, event);
        assert.ok(!data.includes('amazon-bedrock-invocationMetrics'), data);
      }
      const start = JSON.parse(events[0].data);
      assert.ok('cache_creation_input_tokens' in start.message.usage, events[0].data);
      assert.ok('cache_read_input_tokens' in start.message.usage, events[0].data);
    });

    it('round-trips a tool call', async () => {
      const c = client(gw);
      const params = user(gw, `What is the weather in Paris? Use the get_weather tool. ${nonce()}`, { tools: [weatherTool] });
      const first = await c.messages.create(params);
      assert.equal(first.stop_reason, 'tool_use');
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      assert.equal(typeof use.input.location, 'string');
      const second = await c.messages.create({
        ...params,
        messages: [
          ...params.messages,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees and sunny' }] },
        ],
      });
      assert.equal(second.stop_reason, 'end_turn');
      assert.ok(textOf(second).includes('18 degrees and sunny'), textOf(second));
    });

    it('keeps thinking signatures byte for byte', async () => {
      const c = client(gw);
      const params = user(gw, `Think about seven ${nonce()}`, {
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
      });
      const stream = c.messages.stream(params);
      let signature = '';
      for await (const ev of stream) {
        if (ev.type === 'content_block_delta' && ev.delta.type === 'signature_delta') signature += ev.delta.signature;
      }
      const first = await stream.finalMessage();
      const thinking = first.content[0];
      assert.equal(thinking.type, 'thinking');
      assert.ok(thinking.signature && thinking.signature === signature);
      const next = { ...params, messages: [...params.messages, { role: 'assistant', content: first.content }, { role: 'user', content: `Eight? ${nonce()}` }] };
      await c.messages.create(next);
      // The emulator checks signatures: an edited thinking text is refused,
      // so the success above means the bytes came back as they left.
      const edited = structuredClone(next);
      edited.messages[1].content[0].thinking += ' (edited)';
      await rejectsWith(c.messages.create(edited), 400, 'invalid_request_error');
    });

    it('takes an image', async () => {
      const msg = await client(gw).messages.create({
        model: gw.model,
        max_tokens: 256,
        messages: [{
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: onePixelPNG } },
            { type: 'text', text: `What is this? ${nonce()}` },
          ],
        }],
      });
      assert.ok(textOf(msg).includes('image'), textOf(msg));
    });

    if (gw.name === 'anthropic') {
      it('passes an unknown top-level field untouched', async () => {
        // The Anthropic API refuses fields it does not know, by name: the
        // refusal proves the field reached it.
        await assert.rejects(
          client(gw).messages.create({ ...user(gw, `Hi ${nonce()}`), made_up_field_2099: { nested: [1, 2] } }),
          (err) => err.status === 400 && err.type === 'invalid_request_error' && /made_up_field_2099/.test(err.message),
        );
      });
    } else {
      it('takes new fields for the models that take them, never failing for the others', async () => {
        for (const model of ['claude-opus-4-6', 'claude-sonnet-4-5']) {
          const msg = await client(gw).messages.create({
            ...user(gw, `Hi ${nonce()}`),
            model,
            output_config: { effort: 'high' },
          });
          assert.equal(msg.model, model);
        }
      });
    }

    it('names the field of an invalid request', async () => {
      await assert.rejects(
        client(gw).messages.create({ model: gw.model, messages: [{ role: 'user', content: 'hi' }] }),
        (err) => err.status === 400 && err.type === 'invalid_request_error' && /max_tokens/.test(err.message),
      );
      await assert.rejects(
        client(gw).messages.create({ model: gw.model, max_tokens: 10, messages: [] }),
        (err) => err.status === 400 && /messages/.test(err.message),
      );
    });

    it('refuses a wrong key with 401', async () => {
      await rejectsWith(client(gw, { apiKey: 'wrong' }).messages.create(user(gw, `Hi ${nonce()}`)), 401, 'authentication_error');
    });

    it('answers 404 for an unknown model', async () => {
      await rejectsWith(client(gw).messages.create({ ...user(gw, `Hi ${nonce()}`), model: 'claude-nonexistent-9-9' }), 404, 'not_found_error');
    });

    it('answers 429 once the retries are spent', async () => {
      await rejectsWith(client(gw).messages.create(user(gw, `Hi [[throttle]] [[retry-after=0]] ${nonce()}`)), 429, 'rate_limit_error');
    });

    it('succeeds when the gateway retries a throttled call', async () => {
      const msg = await client(gw).messages.create(user(gw, `Hi [[throttle*1]] ${nonce()}`));
      assert.equal(msg.stop_reason, 'end_turn');
    });

    it('answers 529 when overloaded', async () => {
      await rejectsWith(client(gw).messages.create(user(gw, `Hi [[overloaded]] ${nonce()}`)), 529, 'overloaded_error');
    });

    for (const fault of ['[[stream-error=3]]', '[[cut=3]]']) {
      it(`surfaces ${fault} as an APIError of the stream`, async () => {
        const stream = client(gw).messages.stream(user(gw, `Hi ${fault} ${nonce()}`));
        const types = [];
        await assert.rejects(
          (async () => {
            for await (const ev of stream) types.push(ev.type);
          })(),
          (err) => err instanceof Anthropic.APIError && !(err instanceof Anthropic.APIConnectionError),
        );
        assert.ok(types.includes('message_start') && !types.includes('message_stop'), `events ${types}`);
      });
    }

    it('counts tokens', async () => {
      const count = async (text) =>
        (await client(gw).messages.countTokens({ model: gw.model, messages: [{ role: 'user', content: text }] })).input_tokens;
      const short = await count('Hello');
      const long = await count('Hello there, how are you today? '.repeat(50));
      assert.ok(short > 0 && long > short, `${short} ${long}`);
    });

    it('lists models page by page', async () => {
      const c = client(gw);
      const first = await c.models.list({ limit: 2 });
      assert.equal(first.data.length, 2);
      assert.equal(first.has_more, true);
      assert.equal(first.first_id, first.data[0].id);
      assert.equal(first.last_id, first.data[1].id);
      assert.ok(first.hasNextPage());
      const second = await first.getNextPage();
      assert.ok(second.data.length > 0);
      assert.ok(!first.data.some((m) => m.id === second.data[0].id));
      const all = [];
      for await (const m of c.models.list({ limit: 3 })) all.push(m.id);
      assert.equal(new Set(all).size, all.length, `duplicates in ${all}`);
      assert.ok(all.includes('claude-sonnet-4-5-20250929'), `${all}`);
      const one = await c.models.retrieve('claude-sonnet-4-5-20250929');
      assert.equal(one.id, 'claude-sonnet-4-5-20250929');
    });

    it('answers a CORS preflight from fetch', async () => {
      const pre = await fetch(`${gw.url}/v1/messages`, {
        method: 'OPTIONS',
        headers: {
          Origin: corsOrigin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-api-key,anthropic-version',
        },
      });
      assert.ok(pre.status >= 200 && pre.status < 300, `preflight ${pre.status}`);
      assert.equal(pre.headers.get('access-control-allow-origin'), corsOrigin);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-api-key/i);
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { Origin: corsOrigin, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': gatewayKey },
        body: JSON.stringify(user(gw, `CORS ${nonce()}`)),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), corsOrigin);
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /request-id/i);
      assert.ok(res.headers.get('request-id'));
    });
  });
}
