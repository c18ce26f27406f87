/**
 * ostree-receive's limits from the configuration file and the command line:
 * parsed and merged (file, `repos` entry, options), bad values refused as
 * one line, and a silent client gone within the configured idle time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { OstreePushError } from '../errors.js';
import { initArchiveRepo } from '../repo/builder.js';
import { tmpDir } from '../../testkit/tmp.js';
import { parseReceiveConfig, settingsFor } from './receive-config.js';
import { limitsFromOptions } from './receive-limits-config.js';

const ENTRY = fileURLToPath(new URL('./ostree-receive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

test('limits in the file: seconds and bytes, a repos entry replaces a key for its repository', (t) => {
  const dir = tmpDir(t, 'limits-config');
  initArchiveRepo(join(dir, 'main'));
  const c = parseReceiveConfig(
    ['idle_timeout: 30', 'session_timeout: 0', 'max_push_bytes: 1073741824', 'max_push_objects: 1000', 'max_receivers: 2', 'min_free_space: 0', 'repos:', '  main:', '    idle_timeout: 0.5', '    max_receivers: 4'].join('\n'),
    'c.conf',
  );
  assert.deepEqual(settingsFor(c, join(dir, 'main'), dir), {
    force: false,
    dryRun: false,
    logLevel: 'info',
    idleTimeoutMs: 500,
    sessionTimeoutMs: 0,
    maxPushBytes: 1073741824n,
    maxPushObjects: 1000,
    maxReceivers: 4,
    minFreeBytes: 0n,
  });
  // Absent: no key at all (the receiver's defaults apply).
  assert.deepEqual(settingsFor(parseReceiveConfig('force: true', 'd.conf'), join(dir, 'main'), dir), { force: true, dryRun: false, logLevel: 'info' });
});

test('bad limits: CONFIG_INVALID naming the key; a bad option value is a usage error', () => {
  for (const [text, key] of [
    ['idle_timeout: 0', 'idle_timeout'],
    ['session_timeout: -1', 'session_timeout'],
    ['max_push_bytes: 1.5', 'max_push_bytes'],
    ['max_receivers: many', 'max_receivers'],
    ['repos:\n  x:\n    min_free_space: -5', 'repos.x.min_free_space'],
  ]) {
    assert.throws(
      () => parseReceiveConfig(text as string, 'c.conf'),
      (e: OstreePushError) => e.code === 'CONFIG_INVALID' && e.exitCode === 2 && (e.data as { key?: string }).key === key,
      text,
    );
  }
  assert.deepEqual(limitsFromOptions({ 'idle-timeout': '0.2', 'max-receivers': '0', 'min-free-space': '1024' }), { idleTimeoutMs: 200, maxReceivers: 0, minFreeBytes: 1024n });
  for (const [option, value] of [['idle-timeout', '0'], ['idle-timeout', 'x'], ['max-push-bytes', '-1'], ['max-push-objects', '1.5'], ['session-timeout', '']]) {
    assert.throws(() => limitsFromOptions({ [option as string]: value }), (e: OstreePushError) => e.code === 'USAGE' && e.exitCode === 2, `${option}=${value}`);
  }
});

/** ostree-receive with stdin left open and silent. */
function silent(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

test('ostree-receive: a client that sends nothing is gone at the configured idle time, by file or option', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'limits-cli');
  const repo = initArchiveRepo(join(dir, 'repo'));
  const conf = join(dir, 'receive.conf');
  writeFileSync(conf, 'idle_timeout: 0.2\n');
  const env = { ...process.env, OSTREE_RECEIVE_CONF: conf };
  const byFile = await silent([`--repo=${repo.path}`], env);
  assert.equal(byFile.code, 1, byFile.stderr);
  assert.match(byFile.stderr, /^ostree-receive: the pusher sent nothing for 200 ms; giving up\n$/);
  assert.equal(byFile.stdout[2], 0, 'INFO went out first');
  // The option wins over the file (10 minutes there).
  writeFileSync(conf, 'idle_timeout: 600\n');
  const byOption = await silent([`--repo=${repo.path}`, '--idle-timeout=0.2'], env);
  assert.equal(byOption.code, 1, byOption.stderr);
  assert.match(byOption.stderr, /^ostree-receive: the pusher sent nothing for 200 ms; giving up\n$/);
  const bad = await silent([`--repo=${repo.path}`, '--max-receivers=-1'], env);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout.length, 0);
  assert.match(bad.stderr, /^ostree-receive: --max-receivers must be a whole number \(0: no limit\), not '-1'\n$/);
});
