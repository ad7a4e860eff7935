// Sign-in and isolation between two users, against a server with users
// (CHAT_URL_LOGIN; e2e/browser_test.go creates them with `claudebridge users add`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, ask, answerDone, unique, signIn, loginURL, userA, userB } from './lib.mjs';

const skip = !loginURL && 'CHAT_URL_LOGIN is not set';
let browser;
before(async () => { if (!skip) browser = await launch(); });
after(async () => { await browser?.close(); });

test('a server with users asks for a login, refuses a wrong password', { skip }, async () => {
  const page = await open(browser, loginURL);
  await page.locator('#login-form').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app').isVisible(), false);
  await page.locator('#login-name').fill(userA.name);
  await page.locator('#login-password').fill(userA.password + '-wrong');
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#login-error').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app').isVisible(), false);
  // Nothing of the API answers without a session.
  const resp = await page.request.get(loginURL + '/api/conversations');
  assert.equal(resp.status(), 401);
  await page.context().close();
});

test('each user sees only their own conversations and prompts', { skip }, async () => {
  const secret = unique('secret-of-a');
  const promptName = unique('prompt-of-a');
  const a = await open(browser, loginURL);
  await signIn(a, userA);
  await ask(a, `Private ${secret}`);
  assert.equal(await answerDone(a), 'complete');
  await a.locator('#open-prompts').click();
  await a.locator('#prompt-name').fill(promptName);
  await a.locator('#prompt-text').fill('Only for A.');
  await a.locator('#prompt-save').click();
  await a.locator('#prompt-list li', { hasText: promptName }).waitFor();
  await a.keyboard.press('Escape');
  const convID = await a.evaluate(() => location.hash.slice(1));
  assert.match(convID, /\S/);
  // A's session survives a reload; the conversation is listed.
  await a.reload();
  await ready(a);
  await a.locator('#conversations a', { hasText: secret }).waitFor();

  const b = await open(browser, loginURL);
  await signIn(b, userB);
  await b.waitForTimeout(300);
  assert.equal(await b.locator('#conversations a', { hasText: secret }).count(), 0, "B lists A's conversation");
  assert.equal(await b.locator('#prompt option', { hasText: promptName }).count(), 0, "B lists A's prompt");
  // Opening A's conversation by its address shows nothing of it.
  await b.goto(loginURL + '/#' + convID);
  await ready(b);
  await b.waitForTimeout(300);
  assert.doesNotMatch(await b.locator('#messages').innerText(), new RegExp(secret));
  const status = await b.evaluate(async (id) => (await fetch('/api/conversations/' + id)).status, convID);
  assert.equal(status, 404);

  // Sign out: the login form is back and the API refuses again.
  await a.locator('#logout').click();
  await a.locator('#login-form').waitFor({ state: 'visible' });
  assert.equal(await a.evaluate(async () => (await fetch('/api/me')).status), 401);
  assert.deepEqual(a.problems.filter((p) => !/401/.test(p)), []);
  assert.deepEqual(b.problems.filter((p) => !/40[14]/.test(p)), []);
  await a.context().close();
  await b.context().close();
});
