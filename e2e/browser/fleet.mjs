// Run by TestBrowserAcrossServes (e2e/fleet_browser_test.go): the page
// through a proxy in front of three serves on one PostgreSQL. The proxy's
// control API (FLEET_CONTROL) pins new connections to one serve, cuts
// every open connection, or kills a serve, as a load balancer and a crash
// would. (Not named *.test.mjs: `node --test` of the folder must not run it.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, ask, lastAnswer, answerDone, answerText, unique, chatURL } from './lib.mjs';

const control = process.env.FLEET_CONTROL || '';
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** steer asks the proxy to pin, cut or kill (serve n). */
async function steer(what, n = 0) {
  const resp = await fetch(`${control}/${what}?to=${n}`, { method: 'POST' });
  assert.equal(resp.status, 204, `${what} ${n}: ${resp.status}`);
}

/** partOfAnswer waits until the last answer shows more than n characters. */
async function partOfAnswer(page, n) {
  await page.waitForFunction((n) => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a && a.querySelector('.body').innerText.length > n;
  }, n);
  return answerText(page);
}

/** words counts the words of a text. */
const words = (s) => s.split(/\s+/).filter(Boolean).length;

test('a socket cut mid-answer reconnects to another serve and the answer completes once', { skip: !control && 'FLEET_CONTROL is not set' }, async () => {
  await steer('pin', 0);
  const page = await open(browser, chatURL);
  await ready(page);
  await ask(page, `Explain slowly ${unique('cut')} [[slow=40]] [[words=120]]`);
  const partial = await partOfAnswer(page, 30);
  const id = await lastAnswer(page).getAttribute('data-id');
  await steer('pin', 1);
  await steer('cut');
  assert.equal(await answerDone(page, 30000), 'complete');
  const final = await answerText(page);
  assert.equal(await lastAnswer(page).getAttribute('data-id'), id, 'another message after the reconnection');
  assert.ok(final.startsWith(partial.trim().slice(0, 30)), `final ${JSON.stringify(final.slice(0, 60))} does not continue ${JSON.stringify(partial.slice(0, 60))}`);
  assert.equal(words(final), 120, 'the answer has a gap or a duplicate');
  // What serve 2 has stored is that same text.
  await steer('pin', 2);
  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  assert.equal((await answerText(page)).trim(), final.trim());
  await page.context().close();
});

test('Stop pressed on another serve stops the answer and keeps its text', { skip: !control && 'FLEET_CONTROL is not set' }, async () => {
  await steer('pin', 0);
  const writer = await open(browser, chatURL);
  await ready(writer);
  await ask(writer, `Tell me a long story ${unique('stop')} [[slow=60]] [[words=400]]`);
  await partOfAnswer(writer, 40);
  const conversation = await writer.evaluate(() => location.hash);
  assert.match(conversation, /^#conv_/);
  await steer('pin', 1);
  const other = await open(browser, chatURL + '/' + conversation);
  await ready(other);
  await other.locator('#stop').waitFor({ state: 'visible' });
  await partOfAnswer(other, 60);
  const stoppedAt = Date.now();
  await other.locator('#stop').click();
  assert.equal(await answerDone(writer, 5000), 'stopped');
  assert.ok(Date.now() - stoppedAt < 3000, `the stop took ${Date.now() - stoppedAt} ms`);
  assert.equal(await answerDone(other, 5000), 'stopped');
  const kept = await answerText(writer);
  assert.ok(words(kept) > 5 && words(kept) < 400, `kept ${words(kept)} words`);
  await other.reload();
  await ready(other);
  await lastAnswer(other).waitFor();
  assert.equal(await lastAnswer(other).getAttribute('data-status'), 'stopped');
  assert.equal((await answerText(other)).trim(), kept.trim());
  await writer.context().close();
  await other.context().close();
});

test('a serve killed mid-answer: the others mark it interrupted, and it is continued on another', { skip: !control && 'FLEET_CONTROL is not set' }, async () => {
  await steer('pin', 0);
  const page = await open(browser, chatURL);
  await ready(page);
  await ask(page, `Write at length ${unique('kill')} [[slow=60]] [[words=400]]`);
  await partOfAnswer(page, 40);
  const id = await lastAnswer(page).getAttribute('data-id');
  // An answer is saved about once a second, and what came after the last
  // save dies with its process; the page cannot see a save, so the kill
  // comes 2.5 s into the answer, after two saves or so.
  await page.waitForTimeout(2500);
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'streaming', 'the answer ended before the kill');
  await steer('pin', 1);
  await steer('kill', 0);
  const shown = await answerText(page);
  // The page reconnects to serve 1, which marks the answer interrupted
  // once serve 0's lease (TURN_LEASE=5s) lapses.
  assert.equal(await answerDone(page, 30000), 'interrupted');
  // What was saved of it, as any serve now shows it.
  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'interrupted');
  const cut = await answerText(page);
  assert.ok(cut.trim().length > 40 && shown.startsWith(cut.trim()), `the interrupted answer ${JSON.stringify(cut.slice(0, 60))} is not what was shown of it, ${JSON.stringify(shown.slice(0, 60))}`);
  await lastAnswer(page).locator('button[data-action="continue"]').click();
  await page.locator('#stop').waitFor({ state: 'visible' });
  await partOfAnswer(page, cut.length + 20);
  await page.locator('#stop').click();
  assert.equal(await answerDone(page), 'stopped');
  assert.equal(await lastAnswer(page).getAttribute('data-id'), id, 'Continue made another message');
  assert.ok((await answerText(page)).startsWith(cut.trim().slice(0, 40)));
  await page.context().close();
});
