// Budgets of virtual keys through the official clients: a key made on the
// admin API (ADMIN_KEY) of the keys gateway with budget_usd and a period,
// spent by the Anthropic TypeScript SDK (streams and not) and, as a Bedrock
// API key, by the AWS SDK for JavaScript v3. The keys gateway serves the
// Anthropic API emulator at the built-in prices: claude-sonnet-4-5's output
// is $15 a million tokens, so a call of max_tokens 1000 whose answer runs
// to its end costs $0.015 and a few input tokens, and its worst case (what
// is reserved while it runs) the same and a little more.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ValidationException } from '@aws-sdk/client-bedrock-runtime';
import { awsRegion, nonce } from './env.mjs';

const url = process.env.KEYS_GATEWAY_URL;
const adminKey = process.env.ADMIN_KEY;
if (!url || !adminKey) {
  throw new Error('KEYS_GATEWAY_URL and ADMIN_KEY are not set: run these tests through "go test ./e2e/ -run TestNodeClients"');
}
const model = 'claude-sonnet-4-5';
const output = 1000 * 15e-6; // the output of one call, in US dollars

/** makeKey creates a key on the admin API and waits until the gateway has
 * read it (it reads the store every second): GET /v1/models counts
 * against no limit. */
async function makeKey(fields) {
  const res = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `node budget ${process.pid} ${nonce()}`, ...fields }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { key } = await res.json();
  const deadline = Date.now() + 3000;
  for (;;) {
    const seen = await fetch(`${url}/v1/models`, { headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' } });
    if (seen.status === 200) return key;
    assert.ok(Date.now() < deadline, 'the gateway did not take the new key within 3 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// A question whose answer runs to max_tokens (the emulator's [[words=N]]).
const question = () => `Tell me everything, ${nonce()}. [[words=3000]]`;

function isBudgetRefusal(err) {
  assert.ok(err instanceof Anthropic.BadRequestError, `want a BadRequestError, got ${err}`);
  assert.equal(err.status, 400);
  assert.equal(err.error?.error?.type, 'invalid_request_error');
  assert.match(err.message, /Your budget is too low/);
  return true;
}

describe('a virtual key\'s budget through the Anthropic TypeScript SDK', () => {
  it('lets exactly 7 of 50 concurrent calls (streams and not) through a budget that covers 7, and refuses the rest with 400 invalid_request_error', async () => {
    // Room for 7 calls at their worst case and half an eighth.
    const key = await makeKey({ budget_usd: 7.5 * output, period: 'day' });
    const client = new Anthropic({ apiKey: key, baseURL: url, maxRetries: 0 });
    const call = async (i) => {
      const params = { model, max_tokens: 1000, messages: [{ role: 'user', content: question() }] };
      if (i % 2 === 1) return client.messages.create(params);
      const stream = await client.messages.create({ ...params, stream: true });
      let stop;
      for await (const ev of stream) if (ev.type === 'message_delta') stop = ev.delta.stop_reason;
      assert.equal(stop, 'max_tokens');
    };
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => call(i)));
    const answered = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && isBudgetRefusal(r.reason)).length;
    assert.equal(answered, 7);
    assert.equal(refused, 43);
    await assert.rejects(client.messages.create({ model, max_tokens: 1000, messages: [{ role: 'user', content: question() }] }), isBudgetRefusal);
  });
});

describe('a virtual key\'s budget through the AWS SDK for JavaScript v3 (a Bedrock API key)', () => {
  it('serves the call the budget covers, then refuses the next with ValidationException', async () => {
    const key = await makeKey({ budget_usd: 1.5 * output, period: 'month' });
    const bedrock = new BedrockRuntimeClient({
      endpoint: url,
      region: awsRegion,
      token: { token: key },
      authSchemePreference: ['httpBearerAuth'],
      maxAttempts: 1,
    });
    const converse = () =>
      new ConverseCommand({
        modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        messages: [{ role: 'user', content: [{ text: question() }] }],
        inferenceConfig: { maxTokens: 1000 },
      });
    const out = await bedrock.send(converse());
    assert.equal(out.usage.outputTokens, 1000);
    await assert.rejects(bedrock.send(converse()), (err) => {
      assert.ok(err instanceof ValidationException, `want a ValidationException, got ${err}`);
      assert.match(err.message, /Your budget is too low/);
      return true;
    });
  });
});
