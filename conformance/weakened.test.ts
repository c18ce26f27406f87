/**
 * No hardened case passes vacuously: against weakened-receiver.ts (version 0
 * spoken correctly, the 2015 weaknesses kept on purpose, no capability
 * advertised) every hardened receiver case that runs fails and every core
 * receiver case passes. Cases that need a capability (`requires`) are
 * skipped there, as expectations/weakened.json `skipped` documents.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { entryCommands } from './bundle.js';
import { readExpectations, runConformance } from './run.js';

const WEAKENED = 'conformance/weakened-receiver.ts';

it('every hardened receiver case that runs fails against the weakened receiver; every core case passes', { timeout: 120_000 }, async (t) => {
  const command = `${(await entryCommands([WEAKENED]))[WEAKENED] as string} --repo={repo}`;
  const expectations = readExpectations(fileURLToPath(new URL('./expectations/weakened.json', import.meta.url)));
  const results = await runConformance({ receiver: command, level: 'all', concurrency: 4, timeoutMs: 8000, expectations });
  const core = results.filter((r) => r.level === 'core');
  const hardened = results.filter((r) => r.level === 'hardened');
  const ran = hardened.filter((r) => r.status !== 'skip');
  const skipped = hardened.filter((r) => r.status === 'skip');
  t.diagnostic(`${core.length} core, ${hardened.length} hardened (${ran.length} run, ${skipped.length} skipped: ${skipped.map((r) => r.id).join(', ')}), ${results.filter((r) => r.level === 'extension').length} extension receiver cases`);
  assert.ok(ran.length >= 20 && core.length >= 20);
  assert.deepEqual(core.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`), [], 'core cases the weakened receiver should pass');
  // 'fixed' would mean a hardened case passed against a receiver without the guarantee it checks.
  assert.deepEqual(ran.filter((r) => r.status !== 'known').map((r) => `${r.id}: ${r.status}`), [], 'hardened cases that did not fail');
  for (const r of ran) assert.ok((r.message ?? '').length > 0, `${r.id} fails with a reason`);
  // A skip is only ever for a capability the weakened receiver does not offer, and is documented.
  assert.deepEqual(skipped.map((r) => r.id).sort(), Object.keys(expectations.skipped ?? {}).sort());
  for (const r of skipped) assert.match(r.message ?? '', /not advertised in INFO/, r.id);
  assert.ok(results.filter((r) => r.level === 'extension').every((r) => r.status === 'skip'), 'extension cases are skipped');
});
