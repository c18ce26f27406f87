/**
 * The whole suite against our own CLIs, as CI runs it: every receiver case
 * against `ostree-receive`, every pusher case against `ostree-push` through
 * a local-path remote and through the ssh stand-in (expectations/
 * ostree-push-ssh.json lists known failures there; it is empty). The CLIs
 * run bundled (bundle.ts) to keep process start-up from dominating.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { entryCommands } from './bundle.js';
import { readExpectations, runConformance, type CaseResult } from './run.js';

const RECEIVE = 'src/cli/ostree-receive.ts';
const PUSH = 'src/cli/ostree-push.ts';

function failures(results: readonly CaseResult[]): string[] {
  return results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.message}`);
}

describe('the conformance suite against our CLIs', { timeout: 180_000 }, () => {
  let receiver = '';
  let pusher = '';
  before(async () => {
    const cmd = await entryCommands([RECEIVE, PUSH]);
    receiver = `${cmd[RECEIVE] as string} --repo={repo}`;
    pusher = `${cmd[PUSH] as string} --repo={source} {remote} {ref}`;
  });

  it('ostree-receive passes every receiver case, extensions included', async (t) => {
    const results = await runConformance({ receiver, concurrency: 4 });
    t.diagnostic(`${results.length} receiver cases`);
    assert.ok(results.length >= 65);
    assert.deepEqual(failures(results), []);
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status} ${r.message ?? ''}`), []);
  });

  it('ostree-push passes every pusher case through a local-path remote', async (t) => {
    const results = await runConformance({ pusher, transports: ['local'], concurrency: 4 });
    const ran = results.filter((r) => r.status !== 'skip');
    t.diagnostic(`${ran.length} pusher cases over a local path`);
    assert.ok(ran.length >= 5);
    assert.deepEqual(failures(results), []);
  });

  it('ostree-push through the ssh stand-in passes every pusher case', async (t) => {
    const expectations = readExpectations(fileURLToPath(new URL('./expectations/ostree-push-ssh.json', import.meta.url)));
    const results = await runConformance({ pusher, transports: ['ssh'], concurrency: 4, expectations });
    t.diagnostic(`${results.length} pusher cases over ssh`);
    const fixed = results.filter((r) => r.status === 'fixed').map((r) => r.id);
    if (fixed.length > 0) t.diagnostic(`now passing, remove from expectations/ostree-push-ssh.json: ${fixed.join(', ')}`);
    assert.deepEqual(failures(results), []);
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status}`), []);
  });
});
