// The Message Batches API of claudebridge through the official Anthropic
// TypeScript SDK (client.messages.batches.*), on each upstream.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as pause } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import { gateways, gatewayKey, nonce } from './env.mjs';

function client(gw) {
  return new Anthropic({ apiKey: gatewayKey, baseURL: gw.url, maxRetries: 0 });
}

function requests(gw, n, text) {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `req-${i}`,
    params: { model: gw.model, max_tokens: 32, messages: [{ role: 'user', content: `${text} ${i} ${nonce()}` }] },
  }));
}

/** Retrieves the batch until it has ended, as the SDK's docs poll it. */
async function ended(c, id) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const batch = await c.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') {
      return batch;
    }
    assert.ok(Date.now() < deadline, `batch ${id} still ${batch.processing_status} after a minute`);
    await pause(50);
  }
}

async function resultsOf(c, id) {
  const out = new Map();
  for await (const r of await c.messages.batches.results(id)) {
    assert.ok(!out.has(r.custom_id), `${r.custom_id} has two results`);
    out.set(r.custom_id, r.result);
  }
  return out;
}

for (const gw of gateways) {
  describe(`message batches through ${gw.name}`, () => {
    it('creates, retrieves, lists, reads the results of and deletes a batch', async () => {
      const c = client(gw);
      const reqs = requests(gw, 3, 'Hello');
      reqs.push({ custom_id: 'streaming', params: { ...reqs[0].params, stream: true } });
      const created = await c.messages.batches.create({ requests: reqs });
      assert.match(created.id, /^msgbatch_/);
      assert.equal(created.type, 'message_batch');
      assert.equal(created.processing_status, 'in_progress');
      assert.equal(created.request_counts.processing, 4);
      assert.equal(created.results_url, null);

      const batch = await ended(c, created.id);
      assert.deepEqual(batch.request_counts, { processing: 0, succeeded: 3, errored: 1, canceled: 0, expired: 0 });
      assert.ok(batch.ended_at, 'no ended_at');
      assert.ok(batch.results_url.endsWith(`/v1/messages/batches/${created.id}/results`), batch.results_url);

      const results = await resultsOf(c, created.id);
      assert.equal(results.size, 4);
      for (const r of reqs.slice(0, 3)) {
        const result = results.get(r.custom_id);
        assert.equal(result.type, 'succeeded', `${r.custom_id}: ${JSON.stringify(result)}`);
        assert.equal(result.message.type, 'message');
        assert.ok(result.message.content[0].text.length > 0);
      }
      const refused = results.get('streaming');
      assert.equal(refused.type, 'errored');
      assert.equal(refused.error.error.type, 'invalid_request_error');

      const seen = [];
      for await (const b of c.messages.batches.list({ limit: 1 })) {
        seen.push(b.id);
        if (b.id === created.id) {
          break;
        }
      }
      assert.ok(seen.includes(created.id), `list never reached ${created.id}: ${seen}`);

      const deleted = await c.messages.batches.delete(created.id);
      assert.deepEqual(deleted, { id: created.id, type: 'message_batch_deleted' });
      await assert.rejects(c.messages.batches.retrieve(created.id), (err) => {
        assert.ok(err instanceof Anthropic.NotFoundError, `want NotFoundError, got ${err}`);
        assert.equal(err.type, 'not_found_error');
        return true;
      });
    });

    it('cancels a batch: the requests not started are canceled results', async () => {
      const c = client(gw);
      const reqs = requests(gw, 40, 'Slowly [[wait=300]]');
      const created = await c.messages.batches.create({ requests: reqs });
      const canceling = await c.messages.batches.cancel(created.id);
      assert.equal(canceling.processing_status, 'canceling');
      assert.ok(canceling.cancel_initiated_at, 'no cancel_initiated_at');

      const batch = await ended(c, created.id);
      const counts = batch.request_counts;
      assert.ok(counts.canceled > 0, `nothing canceled: ${JSON.stringify(counts)}`);
      assert.equal(counts.succeeded + counts.errored + counts.canceled, 40, JSON.stringify(counts));
      const results = await resultsOf(c, created.id);
      assert.equal(results.size, 40);
      const canceled = [...results.values()].filter((r) => r.type === 'canceled').length;
      assert.equal(canceled, counts.canceled);
    });

    it('refuses a batch without requests and an unknown id in the API shape', async () => {
      const c = client(gw);
      await assert.rejects(c.messages.batches.create({ requests: [] }), (err) => {
        assert.ok(err instanceof Anthropic.BadRequestError, `want BadRequestError, got ${err}`);
        assert.equal(err.type, 'invalid_request_error');
        return true;
      });
      await assert.rejects(c.messages.batches.retrieve('msgbatch_01nosuchbatch'), Anthropic.NotFoundError);
    });
  });
}
