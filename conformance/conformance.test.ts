/**
 * The whole suite against our own CLIs, as CI runs it: every receiver case
 * against `ostree-receive`, every pusher case against `ostree-push` through
 * the ssh stand-in and through a local-path remote, with our expectations
 * file (expectations/ours.json), which has no entry: every case passes, so
 * any failure is an unexpected fail. The CLIs run bundled (bundle.ts) to
 * keep process start-up from dominating.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { entryCommands } from './bundle.js';
import { readExpectations, runConformance, type CaseResult } from './run.js';

const RECEIVE = 'src/cli/ostree-receive.ts';
const PUSH = 'src/cli/ostree-push.ts';

function failures(results: readonly CaseResult[]): string[] {
  return results.filter((r) => r.status !== 'pass' && r.status !== 'skip').map((r) => `${r.id}: ${r.status} ${r.message ?? ''}`);
}

describe('the conformance suite against our CLIs', { timeout: 180_000 }, () => {
  let receiver = '';
  let pusher = '';
  const expectations = readExpectations(fileURLToPath(new URL('./expectations/ours.json', import.meta.url)));
  before(async () => {
    const cmd = await entryCommands([RECEIVE, PUSH]);
    receiver = `${cmd[RECEIVE] as string} --repo={repo}`;
    pusher = `${cmd[PUSH] as string} --repo={source} {remote} {ref}`;
  });

  it('our expectations file has no entry', () => {
    assert.deepEqual(expectations.failures, {});
    assert.deepEqual(expectations.skipped ?? {}, {});
  });

  it('ostree-receive passes every receiver case, extensions included', async (t) => {
    const results = await runConformance({ receiver, concurrency: 4, expectations });
    t.diagnostic(`${results.length} receiver cases`);
    assert.ok(results.length >= 65);
    assert.deepEqual(failures(results), []);
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status} ${r.message ?? ''}`), []);
  });

  it('ostree-push passes every pusher case through a local-path remote', async (t) => {
    const results = await runConformance({ pusher, transports: ['local'], concurrency: 4, expectations });
    const ran = results.filter((r) => r.status !== 'skip');
    t.diagnostic(`${ran.length} pusher cases over a local path`);
    assert.ok(ran.length >= 5);
    assert.deepEqual(failures(results), []);
  });

  it('ostree-push through the ssh stand-in passes every pusher case, extensions included', async (t) => {
    const results = await runConformance({ pusher, transports: ['ssh'], concurrency: 4, expectations });
    t.diagnostic(`${results.length} pusher cases over ssh`);
    assert.deepEqual(failures(results), []);
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status}`), []);
  });
});
