// Run by TestBrowserThroughAPIGateway (e2e/apigateway_browser_test.go): the
// page of claudebridge as a Lambda function, its chat over the API Gateway
// WebSocket stand-in, each route and turn an invocation of its own.
// (Not named *.test.mjs: `node --test` of the folder must not run it.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, signIn, ask, lastAnswer, answerDone, answerText, unique, loginURL, userA } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const skip = !loginURL && 'CHAT_URL_LOGIN is not set';

/** words counts the words of a text. */
const words = (s) => s.split(/\s+/).filter(Boolean).length;

/** partOfAnswer waits until the last answer shows more than n characters. */
async function partOfAnswer(page, n) {
  try {
    await page.waitForFunction((n) => {
      const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
      return a && a.querySelector('.body').innerText.length > n;
    }, n, { timeout: 30000 });
  } catch (err) {
    const shown = await page.evaluate(() => document.querySelector('main')?.innerText || document.body.innerText);
    throw new Error(`${err.message}; the page shows: ${shown.slice(0, 600)}; problems: ${page.problems.join(' | ')}`);
  }
  return answerText(page);
}

/** signedIn opens the page and signs user A in. */
async function signedIn(url = loginURL) {
  const page = await open(browser, url);
  try {
    await signIn(page, userA);
  } catch (err) {
    throw new Error(`${err.message}; problems: ${page.problems.join(' | ')}`);
  }
  return page;
}

/** noProblems checks the page logged no error but the 401 of its first call, made before signing in. */
function noProblems(page) {
  assert.deepEqual(page.problems.filter((p) => !p.includes('status of 401')), []);
}

test('an answer streams over API Gateway and is stored whole', { skip }, async () => {
  const page = await signedIn();
  // The page was told the socket's URL and opened it with a ticket.
  assert.match(await page.evaluate(() => fetch('/api/config').then((r) => r.json()).then((c) => c.socket_url || '')), /^ws:\/\/127\.0\.0\.1:\d+\/prod$/);
  await ask(page, `Explain briefly ${unique('stream')} [[slow=20]] [[words=60]]`);
  const partial = await partOfAnswer(page, 20);
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'streaming', 'the answer did not stream');
  assert.equal(await answerDone(page, 30000), 'complete');
  const shown = await answerText(page);
  assert.ok(shown.startsWith(partial.trim().slice(0, 20)));
  assert.equal(words(shown), 60);
  await page.reload();
  await lastAnswer(page).waitFor();
  assert.equal((await answerText(page)).trim(), shown.trim());
  noProblems(page);
  await page.context().close();
});

test('Stop keeps the partial text', { skip }, async () => {
  const page = await signedIn();
  await ask(page, `Tell me a long story ${unique('stop')} [[slow=50]] [[words=400]]`);
  await partOfAnswer(page, 40);
  const stoppedAt = Date.now();
  await page.locator('#stop').click();
  assert.equal(await answerDone(page, 5000), 'stopped');
  assert.ok(Date.now() - stoppedAt < 3000, `the stop took ${Date.now() - stoppedAt} ms`);
  const kept = await answerText(page);
  assert.ok(words(kept) > 5 && words(kept) < 400, `kept ${words(kept)} words`);
  await page.reload();
  await lastAnswer(page).waitFor();
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'stopped');
  assert.equal((await answerText(page)).trim(), kept.trim());
  noProblems(page);
  await page.context().close();
});

test('a reload mid-answer resumes it without gap or duplicate', { skip }, async () => {
  const page = await signedIn();
  await ask(page, `Explain slowly ${unique('reload')} [[slow=40]] [[words=150]]`);
  await partOfAnswer(page, 40);
  const id = await lastAnswer(page).getAttribute('data-id');
  await page.reload();
  await lastAnswer(page).waitFor();
  assert.equal(await lastAnswer(page).getAttribute('data-id'), id);
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'streaming', 'the answer ended before the reload');
  assert.equal(await answerDone(page, 30000), 'complete');
  const final = await answerText(page);
  assert.equal(words(final), 150, 'the resumed answer has a gap or a duplicate');
  await page.reload();
  await lastAnswer(page).waitFor();
  assert.equal((await answerText(page)).trim(), final.trim());
  noProblems(page);
  await page.context().close();
});

test('a turn longer than the 29 s integration timeout completes', { skip }, async () => {
  const page = await signedIn();
  const startedAt = Date.now();
  await ask(page, `Write at length ${unique('long')} [[slow=250]] [[words=400]]`);
  assert.equal(await answerDone(page, 90000), 'complete');
  assert.ok(Date.now() - startedAt > 29000, `the turn took only ${Date.now() - startedAt} ms`);
  assert.equal(words(await answerText(page)), 400);
  noProblems(page);
  await page.context().close();
});
