/**
 * No case passes vacuously, shown with the model of the 2015 receiver
 * (sim/legacy-receiver.ts, as a child process):
 *
 * - the faithful model passes every core receiver case and fails exactly
 *   the receiver cases expectations/v0-2015.json lists (the verdicts the
 *   real 2015 receiver gets, by hand: conformance/README.md); the cases
 *   that need a capability are skipped, as listed there;
 * - each single-weakness mutant (expectations/legacy-mutants.json) fails
 *   every hardened case listed under it: the hardened guarantees the 2015
 *   receiver has are still shown to be checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { entryCommands } from './bundle.js';
import { readExpectations, runConformance } from './run.js';
import { readFileSync } from 'node:fs';

const MODEL = 'sim/legacy-receiver.child.ts';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const receiverOnly = (m: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(m).filter(([id]) => id.startsWith('receiver/')));

describe('the 2015 receiver model', { timeout: 150_000 }, () => {
  it('passes every core case and fails exactly the expected receiver cases of the 2015 implementation', async (t) => {
    const command = `${(await entryCommands([MODEL]))[MODEL] as string} --repo={repo}`;
    const all = readExpectations(here('./expectations/v0-2015.json'));
    const expectations = { failures: receiverOnly(all.failures), skipped: all.skipped ?? {} };
    const results = await runConformance({ receiver: command, level: 'all', concurrency: 4, timeoutMs: 8000, expectations });
    const by = (s: string): string[] => results.filter((r) => r.status === s).map((r) => r.id);
    t.diagnostic(`${results.length} receiver cases: ${by('pass').length} pass, ${by('expected-fail').length} expected fail, ${by('skip').length} skip`);
    assert.deepEqual(results.filter((r) => r.level === 'core' && r.status !== 'pass').map((r) => `${r.id}: ${r.status} ${r.message ?? ''}`), [], 'core cases the model must pass');
    assert.deepEqual(results.filter((r) => r.status === 'unexpected-fail' || r.status === 'unexpected-pass').map((r) => `${r.id}: ${r.status} ${r.message ?? ''}`), []);
    assert.deepEqual(by('expected-fail').sort(), Object.keys(expectations.failures).sort());
    for (const r of results.filter((x) => x.status === 'expected-fail')) assert.ok((r.message ?? '').length > 0, `${r.id} fails with a reason`);
    const skipped = results.filter((r) => r.status === 'skip' && r.level !== 'extension');
    assert.deepEqual(skipped.map((r) => r.id).sort(), Object.keys(expectations.skipped).sort());
    assert.ok(results.filter((r) => r.level === 'extension').every((r) => r.status === 'skip'), 'extension cases are skipped');
  });

  const mutants = (JSON.parse(readFileSync(here('./expectations/legacy-mutants.json'), 'utf8')) as { mutants: Record<string, Record<string, string>> }).mutants;
  for (const [mutant, failures] of Object.entries(mutants)) {
    it(`with the one weakness '${mutant}', fails each hardened case listed for it`, async () => {
      const command = `env LEGACY_MUTANTS=${mutant} ${(await entryCommands([MODEL]))[MODEL] as string} --repo={repo}`;
      const ids = Object.keys(failures);
      const results = await runConformance({ receiver: command, level: 'hardened', only: `/^(${ids.map((i) => i.replace(/[/.-]/g, '\\$&')).join('|')})$/`, concurrency: 3, timeoutMs: 8000, expectations: { failures } });
      assert.deepEqual(results.map((r) => r.id).sort(), [...ids].sort());
      assert.deepEqual(results.filter((r) => r.status !== 'expected-fail').map((r) => `${r.id}: ${r.status}`), []);
    });
  }
});
