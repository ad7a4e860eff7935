// Claude Code in -p mode through claudebridge on the Bedrock emulator: the
// real-world check that the gateway adapts what Claude Code sends (beta
// flags, fields, ?beta=true) to what Bedrock takes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gateways, gatewayKey } from './env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const claude = join(here, 'node_modules', '.bin', 'claude');

/** Runs claude with args in a clean environment; resolves {code, stdout, stderr}. */
function runClaude(args, env, timeout) {
  return new Promise((resolve) => {
    const child = execFile(claude, args, { env, timeout, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr });
    });
    // -p waits for stdin data otherwise.
    child.stdin.end();
  });
}

it('Claude Code answers through the gateway on Bedrock', { timeout: 100_000 }, async () => {
  const home = await mkdtemp(join(tmpdir(), 'claudebridge-claude-home-'));
  try {
    const gw = gateways.find((g) => g.name === 'bedrock');
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: process.env.TMPDIR ?? tmpdir(),
      ANTHROPIC_BASE_URL: gw.url,
      ANTHROPIC_API_KEY: gatewayKey,
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CI: '1',
    };
    // --tools "": the emulator calls a tool whenever the user's text says
    // "tool", and Claude Code's system reminders always do; with its Agent
    // tool that becomes an endless tree of sub-agents. Without built-in
    // tools Claude Code still sends its betas, thinking, context_management,
    // output_config, metadata and a deferred tool placeholder.
    const args = ['-p', 'Say hello', '--output-format', 'json', '--tools', ''];
    const { code, stdout, stderr } = await runClaude(args, env, 90_000);
    assert.equal(code, 0, `claude exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
    const out = JSON.parse(stdout.trim().split('\n').at(-1));
    assert.equal(out.is_error, false, stdout);
    assert.equal(typeof out.result, 'string', stdout);
    assert.ok(out.result.length > 0, stdout);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
