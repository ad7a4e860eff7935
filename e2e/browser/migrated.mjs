// Run by e2e/browser_test.go after the other browser tests, with
// MIGRATED_URL set: the login server's SQLite database, filled by those
// tests, copied into PostgreSQL by `claudebridge migrate` and served by
// another serve. The page shows user A the same history on both.
// (Not named *.test.mjs: `node --test` of the folder must not pick it up.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, signIn, loginURL, userA } from './lib.mjs';

const migratedURL = process.env.MIGRATED_URL || '';
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** history is what the page shows user A at url: the conversations' titles and each one's messages. */
async function history(url) {
  const page = await open(browser, url);
  await signIn(page, userA);
  await page.waitForFunction(() => document.querySelectorAll('#conversations a').length > 0);
  const links = await page.locator('#conversations a').evaluateAll((as) => as.map((a) => ({ title: a.textContent, href: a.getAttribute('href') })));
  const conversations = [];
  for (const { title, href } of links) {
    await page.goto(url + '/' + href);
    await page.waitForFunction(() => document.querySelectorAll('#messages article.msg').length > 0);
    const messages = await page.locator('#messages article.msg').evaluateAll((as) =>
      as.map((a) => ({ role: a.dataset.role, status: a.dataset.status || '', text: a.querySelector('.body')?.textContent || '' })));
    conversations.push({ title, messages });
  }
  // The page's first call, before signing in, is a 401 by design.
  assert.deepEqual(page.problems.filter((p) => !p.includes('status of 401')), []);
  await page.context().close();
  return conversations;
}

test('the store copied into PostgreSQL shows the same history on the page', { skip: !migratedURL && 'MIGRATED_URL is not set' }, async () => {
  const source = await history(loginURL);
  assert.ok(source.length > 0, 'user A has no conversation to compare');
  const copy = await history(migratedURL);
  assert.deepEqual(copy, source);
});
