// Chat features in headless Chromium against a local-mode server: copy a
// whole answer, edit and resend a question, search, the notice when the
// server cannot be reached, the emulator notice, plain titles, and a model
// picker that fits a phone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, ask, lastAnswer, answerDone, unique, shot, chatURL } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function fresh(viewport) {
  const page = await open(browser, chatURL, viewport);
  await ready(page);
  return page;
}

/** stored fetches the conversation on screen over REST. */
function stored(page) {
  return page.evaluate(async () => (await fetch('/api/conversations/' + location.hash.slice(1))).json());
}

test('Copy puts the whole answer, as stored, on the clipboard', async () => {
  const page = await fresh();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await ask(page, `Explain ${unique('copy')} [[words=60]]`);
  assert.equal(await answerDone(page), 'complete');
  await lastAnswer(page).locator('button[data-action="copy"]').click();
  await page.waitForFunction(() => [...document.querySelectorAll('article.msg[data-role="assistant"] button[data-action="copy"]')].pop().textContent === 'Copied');
  const conv = await stored(page);
  const got = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(got, conv.messages[1].content);
  assert.ok(got.length > 100, `copied ${got.length} characters`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('editing a question replaces it and what followed, and answers it anew', async () => {
  const page = await fresh();
  const marker = unique('edit');
  await ask(page, `First ${marker} [[words=10]]`);
  await answerDone(page);
  await ask(page, `Second ${marker} [[words=10]]`);
  await answerDone(page);
  // Cancel leaves the question as it was.
  await page.locator('article.msg[data-role="user"]').first().locator('button[data-action="edit"]').click();
  await page.locator('article.msg[data-role="user"] button[data-action="cancel-edit"]').click();
  assert.equal(await page.locator('article.msg[data-role="user"]').first().locator('.body').innerText(), `First ${marker} [[words=10]]`);
  assert.equal(await page.locator('article.msg').count(), 4);
  await page.locator('article.msg[data-role="user"]').first().locator('button[data-action="edit"]').click();
  const box = page.locator('article.msg[data-role="user"] .edit-box textarea');
  assert.equal(await box.inputValue(), `First ${marker} [[words=10]]`);
  await box.fill(`Edited ${marker} [[words=12]]`);
  await page.locator('article.msg[data-role="user"] button[data-action="save-edit"]').click();
  assert.equal(await answerDone(page), 'complete');
  assert.equal(await page.locator('article.msg').count(), 2);
  assert.match(await page.locator('article.msg[data-role="user"]').innerText(), /^Edited /);
  assert.match(await lastAnswer(page).innerText(), /Edited/);
  const conv = await stored(page);
  assert.deepEqual(conv.messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(conv.messages[0].content, `Edited ${marker} [[words=12]]`);
  // The stored ids are on the page: the edited message can be edited again.
  assert.equal(await page.locator('article.msg[data-role="user"]').getAttribute('data-id'), conv.messages[0].id);
  assert.ok(await page.locator('article.msg[data-role="user"] button[data-action="edit"]').isVisible());
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the search box finds conversations by title and by message text', async () => {
  const page = await fresh();
  const inText = unique('needle');
  const inTitle = unique('titled');
  await ask(page, `A plain title\nwith ${inText} inside [[words=12]]`);
  await answerDone(page);
  await page.locator('#new-chat').click();
  await ask(page, `About ${inTitle}\n[[words=12]]`);
  await answerDone(page);

  await page.locator('#search').fill(inText);
  await page.waitForFunction(() => document.querySelectorAll('#conversations a').length === 1);
  assert.equal(await page.locator('#conversations a').innerText(), 'A plain title');
  await page.locator('#search').fill(inTitle.toUpperCase());
  await page.waitForFunction((t) => {
    const items = [...document.querySelectorAll('#conversations a')];
    return items.length === 1 && items[0].textContent.includes(t);
  }, inTitle);
  await page.locator('#search').fill(unique('nothing-has-this'));
  await page.locator('#no-matches').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#conversations a').count(), 0);
  await page.locator('#search').fill('');
  await page.waitForFunction(() => document.querySelectorAll('#conversations a').length >= 2);
  assert.equal(await page.locator('#no-matches').isVisible(), false);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the page says when the server cannot be reached and when it is back', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  let down = false;
  const sockets = [];
  // Every socket goes through here: while down, the server "refuses" it.
  await context.routeWebSocket(/\/api\/ws$/, (ws) => {
    if (down) { ws.close(); return; }
    ws.connectToServer();
    sockets.push(ws);
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(chatURL);
  await ready(page);
  await ask(page, `Before ${unique('drop')} [[words=5]]`);
  assert.equal(await answerDone(page), 'complete');
  assert.equal(await page.locator('#conn').isVisible(), false);

  down = true;
  for (const ws of sockets.splice(0)) await ws.close();
  await page.locator('#conn', { hasText: 'cannot be reached' }).waitFor({ state: 'visible' });
  down = false;
  await page.locator('#conn', { hasText: 'again' }).waitFor({ state: 'visible' });
  // And the page works again.
  await ask(page, `After ${unique('back')} [[words=5]]`);
  assert.equal(await answerDone(page), 'complete');
  assert.deepEqual(problems, []);
  await context.close();
});

test('answers from the built-in emulator are labelled, with how to connect a real provider', async () => {
  // The test servers run on an emulator through AI_PROVIDER=anthropic:
  // they name the Anthropic API, and the page says nothing.
  let page = await fresh();
  assert.equal(await page.locator('#provider-note').isVisible(), false);
  await page.context().close();

  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await context.route('**/api/config', async (route) => {
    const resp = await route.fetch();
    const cfg = await resp.json();
    await route.fulfill({ response: resp, json: { ...cfg, provider: 'emulator' } });
  });
  page = await context.newPage();
  await page.goto(chatURL);
  await ready(page);
  const note = page.locator('#provider-note');
  await note.waitFor({ state: 'visible' });
  assert.match(await note.innerText(), /built-in emulator/);
  assert.match(await note.innerText(), /ANTHROPIC_API_KEY or AWS credentials/);
  assert.match(await note.locator('a').getAttribute('href'), /README|#settings/);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390);
  await shot(page, 'phone-emulator.png');
  await context.close();
});

test('conversation titles are plain text, without Markdown marks', async () => {
  const page = await fresh();
  const marker = unique('plain');
  await ask(page, `# **Bold** question about \`code\` and [a link](https://example.com) ${marker}`);
  await answerDone(page);
  const title = `Bold question about code and a link ${marker}`;
  await page.locator('#conversations a', { hasText: marker }).waitFor();
  assert.equal(await page.locator('#conversations a', { hasText: marker }).innerText(), title);
  assert.equal(await page.locator('#title').innerText(), title);
  await page.context().close();
});

test('the model picker shows the whole name of the chosen model at 390 px', async () => {
  const page = await fresh({ width: 390, height: 844 });
  const fit = await page.evaluate(() => {
    const sel = document.querySelector('#model');
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = getComputedStyle(sel).font;
    const names = [...sel.options].map((o) => o.text);
    const longest = Math.max(...names.map((n) => ctx.measureText(n).width));
    const box = sel.getBoundingClientRect();
    const prompt = document.querySelector('#prompt').getBoundingClientRect();
    // The text area of a select is its width less padding and the arrow.
    return { text: ctx.measureText(sel.selectedOptions[0].text).width, longest, width: box.width, right: box.right, promptRight: prompt.right, promptTop: prompt.top, top: box.top };
  });
  assert.ok(fit.text + 36 <= fit.width, `the chosen model's name takes ${fit.text.toFixed(0)} px of a ${fit.width.toFixed(0)} px picker`);
  assert.ok(fit.right <= 390 && fit.promptRight <= 390, `the pickers end at ${fit.right} and ${fit.promptRight}`);
  assert.equal(Math.round(fit.top), Math.round(fit.promptTop), 'the two pickers are on one line');
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390);
  await page.context().close();
});

test('the usage table shows the output tokens counted from a stopped answer', async () => {
  const page = await fresh();
  await ask(page, `Ramble ${unique('counted')} [[slow=40]] [[words=300]]`);
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a && a.querySelector('.body').innerText.length > 60;
  });
  await page.locator('#stop').click();
  assert.equal(await answerDone(page), 'stopped');
  await page.locator('#open-usage').click();
  await page.locator('#usage-table tbody tr').first().waitFor();
  const outputs = await page.locator('#usage-table tbody tr td:nth-child(4)').allInnerTexts();
  assert.ok(outputs.some((t) => /^[\d,]+ \([\d,]+ counted\)$/.test(t)), `output cells: ${outputs}`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
