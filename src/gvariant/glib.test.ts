/**
 * GLib as the oracle: random types and values, serialized by GLib and by us,
 * must give identical bytes, and both readers must agree on the value, in
 * both byte orders. Set GV_SEED to replay a run, GV_CASES to change its size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { needTools } from '../testkit/tools.js';
import { GLibOracle } from '../testkit/glib-oracle.js';
import { typedValueArb } from '../testkit/gvariant-arb.js';
import { decode, encode, typeString, Variant, type ByteOrder, type GVValue } from './index.js';
import { toTaggedJSON } from './json.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ORDERS: ByteOrder[] = ['le', 'be'];

test('random types and values: same bytes as GLib, same values back, both byte orders', async (t) => {
  if (!needTools(t, 'glib')) return;
  const seed = Number(process.env.GV_SEED ?? Date.now() % 0x7fffffff);
  const runs = Number(process.env.GV_CASES ?? 1500);
  const samples = fc.sample(typedValueArb(3), { numRuns: runs, seed });
  const oracle = new GLibOracle();
  try {
    const cases = samples.flatMap(({ type, value }) =>
      ORDERS.map((order) => ({ ts: typeString(type), value, order, json: toTaggedJSON(type, value) })));
    const glibHex = await Promise.all(cases.map((c) => oracle.encodeJSON(c.ts, c.json, c.order)));
    const glibBack = await Promise.all(cases.map((c, i) => oracle.decodeJSON(c.ts, glibHex[i]!, c.order)));
    cases.forEach((c, i) => {
      const where = `seed ${seed}, case ${i}: ${c.ts} ${c.order} ${JSON.stringify(c.json)}`;
      assert.equal(hex(encode(c.ts, c.value, c.order)), glibHex[i], `encode differs (${where})`);
      const ours = decode(c.ts, Buffer.from(glibHex[i]!, 'hex'), c.order);
      assert.deepEqual(toTaggedJSON(c.ts, ours), c.json, `decode differs (${where})`);
      assert.deepEqual(glibBack[i]!.value, c.json, `GLib read back differs (${where})`);
      assert.equal(glibBack[i]!.normal, true, where);
    });
    console.log(`glib oracle: ${cases.length} cases (seed ${seed})`);
  } finally {
    await oracle.close();
  }
});

test('offset widths across 255 and 65535 match GLib', async (t) => {
  if (!needTools(t, 'glib')) return;
  const oracle = new GLibOracle();
  try {
    const cases: { ts: string; value: GVValue }[] = [];
    for (const total of [250, 251, 252, 253, 254, 255, 256, 257, 258, 65530, 65532, 65533, 65534, 65535, 65536, 65540]) {
      const a = 'a'.repeat(Math.floor(total / 2));
      const b = 'b'.repeat(total - a.length);
      cases.push({ ts: 'as', value: [a, b] });
      cases.push({ ts: '(ssy)', value: [a, b, 7] });
      cases.push({ ts: 'a{sv}', value: new Map([[a, new Variant('s', b)]]) });
      cases.push({ ts: 'aay', value: [Buffer.alloc(a.length, 1), Buffer.alloc(b.length, 2)] });
    }
    const glibHex = await Promise.all(cases.map((c) => oracle.encodeJSON(c.ts, toTaggedJSON(c.ts, c.value))));
    cases.forEach((c, i) => {
      const ours = encode(c.ts, c.value);
      assert.equal(hex(ours), glibHex[i], `${c.ts} of ${ours.length} bytes`);
      assert.deepEqual(toTaggedJSON(c.ts, decode(c.ts, ours)), toTaggedJSON(c.ts, c.value));
    });
  } finally {
    await oracle.close();
  }
});
