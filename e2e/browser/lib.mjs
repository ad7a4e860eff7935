// Shared set-up of the browser tests: the server addresses (set by
// e2e/browser_test.go), Chromium through playwright-core, and helpers that
// drive the chat page the way a person does.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const chatURL = process.env.CHAT_URL || '';
export const loginURL = process.env.CHAT_URL_LOGIN || '';
export const userA = { name: process.env.CHAT_USER_A || '', password: process.env.CHAT_PASS_A || '' };
export const userB = { name: process.env.CHAT_USER_B || '', password: process.env.CHAT_PASS_B || '' };
// Screenshots go to SCREENSHOT_DIR when it is set (the committed ones are
// made with SCREENSHOT_DIR=$PWD/e2e/browser/screenshots go test ./e2e -run Browser); else to a temporary
// folder, so a test run leaves the work tree as it found it.
export const screenshots = process.env.SCREENSHOT_DIR || join(tmpdir(), 'claudebridge-screenshots');

if (!chatURL) throw new Error('CHAT_URL is not set: run these tests through "go test ./e2e -run Browser"');

/** launch starts headless Chromium (Debian's package). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
}

/**
 * open opens the page at url in a fresh context and records the page's
 * errors (uncaught exceptions and console errors) in page.problems.
 */
export async function open(browser, url, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push('console: ' + m.text()); });
  await page.goto(url);
  return page;
}

/** ready waits until the chat is usable (signed in, socket-backed composer shown). */
export async function ready(page) {
  await page.locator('#input').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('#model').options.length > 0);
}

let counter = 0;
/** unique makes a marker no other test or run uses. */
export function unique(label) {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

/** ask types text into the composer and presses Enter. */
export async function ask(page, text) {
  await page.locator('#input').fill(text);
  await page.locator('#input').press('Enter');
}

/** lastAnswer is the locator of the last assistant message. */
export function lastAnswer(page) {
  return page.locator('article.msg[data-role="assistant"]').last();
}

/** answerDone waits for the last answer to end and returns its status. */
export async function answerDone(page, timeout = 20000) {
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a && a.dataset.status && a.dataset.status !== 'streaming';
  }, null, { timeout });
  return lastAnswer(page).getAttribute('data-status');
}

/** textOf is the visible text of the last answer's body. */
export function answerText(page) {
  return lastAnswer(page).locator('.body').innerText();
}

/** shot saves a screenshot under screenshots/. */
export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, name) });
}

/** signIn fills the login form. */
export async function signIn(page, user) {
  await page.locator('#login-name').waitFor({ state: 'visible' });
  await page.locator('#login-name').fill(user.name);
  await page.locator('#login-password').fill(user.password);
  await page.locator('#login-form button[type=submit]').click();
  await ready(page);
}
