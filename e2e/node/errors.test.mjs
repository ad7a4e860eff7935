// What the Anthropic TypeScript SDK sees of the errors claudebridge makes
// true to the API's: their status and error type, through each gateway.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { gateways, gatewayKey, nonce } from './env.mjs';

function client(gw, options = {}) {
  return new Anthropic({ apiKey: gatewayKey, baseURL: gw.url, maxRetries: 0, ...options });
}

function user(gw, text) {
  return { model: gw.model, max_tokens: 256, messages: [{ role: 'user', content: text }] };
}

async function rejectsWith(promise, status, type, mention) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Anthropic.APIError, `want an APIError, got ${err}`);
    assert.equal(err.status, status, `status of ${err.message}`);
    assert.equal(err.type, type, `type of ${err.message}`);
    if (mention) assert.ok(err.message.includes(mention), `${err.message} does not say ${mention}`);
    return true;
  });
}

for (const gw of gateways) {
  describe(`errors through the ${gw.name} gateway`, { concurrency: true }, () => {
    it('answers a prompt over the context window with prompt is too long', async () => {
      await rejectsWith(client(gw).messages.create(user(gw, `Hi [[too-long]] ${nonce()}`)), 400, 'invalid_request_error', 'prompt is too long');
    });

    it('answers a model timeout with 504 timeout_error', async () => {
      await rejectsWith(client(gw).messages.create(user(gw, `Hi [[model-timeout]] ${nonce()}`)), 504, 'timeout_error');
    });

    it('ends a stream that times out with a timeout_error', async () => {
      const stream = await client(gw).messages.create({ ...user(gw, `Hi [[stream-timeout=3]] ${nonce()}`), stream: true });
      await assert.rejects(
        (async () => {
          for await (const _ of stream);
        })(),
        (err) => {
          assert.ok(err instanceof Anthropic.APIError, `want an APIError, got ${err}`);
          assert.equal(err.error?.error?.type, 'timeout_error', JSON.stringify(err.error));
          return true;
        },
      );
    });

    it('refuses a request without anthropic-version', async () => {
      await rejectsWith(
        client(gw).messages.create(user(gw, `Hi ${nonce()}`), { headers: { 'anthropic-version': null } }),
        400,
        'invalid_request_error',
        'anthropic-version: header is required',
      );
    });
  });
}
