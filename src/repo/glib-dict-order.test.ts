import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { needTools } from '../../testkit/tools.js';
import { glibDictOrder } from './glib-dict-order.js';

// What ostree 2022.7 wrote in our experiments (spec/ostree-format.md §6.1).
test('orders the summary keys as ostree summary -u writes them', () => {
  assert.deepEqual(
    glibDictOrder([
      'ostree.summary.last-modified',
      'ostree.summary.mode',
      'ostree.summary.tombstone-commits',
      'ostree.summary.indexed-deltas',
      'ostree.summary.collection-id',
      'ostree.summary.collection-map',
    ]),
    [
      'ostree.summary.mode',
      'ostree.summary.last-modified',
      'ostree.summary.tombstone-commits',
      'ostree.summary.collection-map',
      'ostree.summary.indexed-deltas',
      'ostree.summary.collection-id',
    ],
  );
  assert.deepEqual(glibDictOrder(['ostree.commit.timestamp', 'ostree.commit.version']), ['ostree.commit.version', 'ostree.commit.timestamp']);
});

test('refuses key sets that would make GHashTable grow', () => {
  assert.throws(() => glibDictOrder(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']), { code: 'INTERNAL' });
});

test('matches GLib GVariantDict on random key sets (oracle)', (t) => {
  if (!needTools(t, 'glib')) return;
  const key = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.constantFrom('ostree.summary.mode', 'ostree.summary.last-modified', 'ostree.summary.tombstone-commits', 'ostree.static-deltas', 'é', 'ß.x'),
  );
  const sets = fc.sample(fc.uniqueArray(key, { minLength: 0, maxLength: 7 }), { numRuns: 300, seed: 42 })
    .filter((ks) => ks.every((k) => !k.includes('\0') && !/[\uD800-\uDFFF]/.test(k)));
  const script = [
    'import json, sys',
    'from gi.repository import GLib',
    'out = []',
    'for keys in json.load(sys.stdin):',
    '    d = GLib.VariantDict.new(None)',
    '    for k in keys: d.insert_value(k, GLib.Variant("b", True))',
    '    out.append(list(d.end().keys()))',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const glib = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(sets), encoding: 'utf8' })) as string[][];
  sets.forEach((keys, i) => {
    assert.deepEqual(glibDictOrder(keys), glib[i], `keys ${JSON.stringify(keys)}`);
  });
});
