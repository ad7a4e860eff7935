// Virtual keys through the official clients: keys made on the admin API
// (ADMIN_KEY) of the keys gateway, used by the Anthropic TypeScript SDK and,
// as a Bedrock API key (Authorization: Bearer), by the AWS SDK for
// JavaScript v3. The SDKs' own retries are off, so a 429 reaches the test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ThrottlingException,
  AccessDeniedException,
} from '@aws-sdk/client-bedrock-runtime';
import { awsRegion, nonce } from './env.mjs';

const url = process.env.KEYS_GATEWAY_URL;
const adminKey = process.env.ADMIN_KEY;
if (!url || !adminKey) {
  throw new Error('KEYS_GATEWAY_URL and ADMIN_KEY are not set: run these tests through "go test ./e2e/ -run TestNodeClients"');
}
const model = 'claude-sonnet-4-5';

/** makeKey creates a key on the admin API and waits until the gateway has
 * read it (it reads the store every second): GET /v1/models counts
 * against no limit. */
async function makeKey(fields) {
  const res = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `node ${process.pid} ${nonce()}`, ...fields }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { key } = await res.json();
  assert.match(key, /^cb-/);
  const deadline = Date.now() + 3000;
  for (;;) {
    const seen = await fetch(`${url}/v1/models`, { headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' } });
    if (seen.status === 200) return key;
    assert.ok(Date.now() < deadline, 'the gateway did not take the new key within 3 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function client(key) {
  return new Anthropic({ apiKey: key, baseURL: url, maxRetries: 0 });
}

function user(text) {
  return { model, max_tokens: 64, messages: [{ role: 'user', content: text }] };
}

describe('virtual keys through the Anthropic TypeScript SDK', () => {
  it('gives a key with rpm 2 two answers, then 429 rate_limit_error with retry-after and the ratelimit headers', async () => {
    const key = await makeKey({ rpm: 2, tpm: 100000 });
    for (let i = 0; i < 2; i++) {
      const { response } = await client(key).messages.create(user(`Hi ${nonce()}`)).withResponse();
      assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '2');
      assert.equal(response.headers.get('anthropic-ratelimit-requests-remaining'), String(1 - i));
    }
    await assert.rejects(client(key).messages.create(user(`Hi ${nonce()}`)), (err) => {
      assert.ok(err instanceof Anthropic.RateLimitError, `want a RateLimitError, got ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.type, 'rate_limit_error');
      assert.ok(Number(err.headers.get('retry-after')) > 0, 'retry-after in seconds');
      assert.equal(err.headers.get('anthropic-ratelimit-requests-remaining'), '0');
      assert.ok(!Number.isNaN(Date.parse(err.headers.get('anthropic-ratelimit-requests-reset'))), 'an RFC 3339 reset');
      assert.equal(err.headers.get('anthropic-ratelimit-tokens-limit'), '100000');
      return true;
    });
  });

  it('lets exactly 10 of 50 concurrent calls through a key with rpm 10', async () => {
    const key = await makeKey({ rpm: 10 });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => client(key).messages.create(user(`Hi ${nonce()}`))),
    );
    const answered = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter((r) => r.status === 'rejected' && r.reason instanceof Anthropic.RateLimitError).length;
    assert.equal(answered, 10);
    assert.equal(limited, 40);
  });

  it('refuses a model off the key\'s list with 403 permission_error naming it', async () => {
    const key = await makeKey({ models: ['claude-haiku-4-5'] });
    await assert.rejects(client(key).messages.create(user(`Hi ${nonce()}`)), (err) => {
      assert.ok(err instanceof Anthropic.PermissionDeniedError, `want a PermissionDeniedError, got ${err}`);
      assert.ok(err.message.includes(model), `${err.message} does not name ${model}`);
      return true;
    });
  });
});

describe('virtual keys as Bedrock API keys through the AWS SDK for JavaScript v3', () => {
  const profile = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
  const bedrock = (key) =>
    new BedrockRuntimeClient({
      endpoint: url,
      region: awsRegion,
      token: { token: key },
      authSchemePreference: ['httpBearerAuth'],
      maxAttempts: 1,
    });
  const converse = (text) =>
    new ConverseCommand({ modelId: profile, messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens: 64 } });

  it('serves a key as its bearer token, then throttles it past its rpm', async () => {
    const key = await makeKey({ rpm: 1 });
    const out = await bedrock(key).send(converse(`Hi ${nonce()}`));
    assert.ok(out.usage.outputTokens > 0);
    await assert.rejects(bedrock(key).send(converse(`Hi ${nonce()}`)), (err) => {
      assert.ok(err instanceof ThrottlingException, `want a ThrottlingException, got ${err}`);
      return true;
    });
  });

  it('denies a key a model off its list, and an unknown key', async () => {
    const key = await makeKey({ models: ['claude-haiku-4-5'] });
    for (const k of [key, 'cb-not-a-key']) {
      await assert.rejects(bedrock(k).send(converse(`Hi ${nonce()}`)), (err) => {
        assert.ok(err instanceof AccessDeniedException, `want an AccessDeniedException, got ${err}`);
        return true;
      });
    }
  });
});
