/**
 * GLib as the oracle: random types and values, serialized by GLib and by us,
 * must give identical bytes, and both readers must agree on the value, in
 * both byte orders. Set GV_SEED to replay a run, GV_CASES to change its size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { needTools } from '../../testkit/tools.js';
import { GLibOracle } from '../../testkit/glib-oracle.js';
import { typedValueArb } from '../../testkit/gvariant-arb.js';
import { fuzzInputs, type FuzzInput } from '../../testkit/gvariant-fuzz.js';
import { GVariantError } from '../errors.js';
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

test('on mutated and random bytes we accept exactly what GLib calls normal form, with the same value', async (t) => {
  if (!needTools(t, 'glib')) return;
  const seed = Number(process.env.GV_SEED ?? Date.now() % 0x7fffffff);
  const inputs = fuzzInputs(seed);
  const cases = Array.from({ length: Number(process.env.GV_CASES ?? 1500) }, () => inputs.next().value as FuzzInput);
  const oracle = new GLibOracle();
  try {
    const glib = await Promise.all(cases.map((c) => oracle.decodeJSON(typeString(c.type), hex(c.bytes), c.order)));
    // GLib's is_normal_form() is a little weaker than "GLib would write these
    // bytes" (an empty variable tuple passes: offsets of width 0). We accept
    // only what GLib writes, so also ask GLib to re-serialize what it read.
    const rewritten = await Promise.all(cases.map((c, i) =>
      glib[i]!.normal ? oracle.encodeJSON(typeString(c.type), glib[i]!.value, c.order) : Promise.resolve('')));
    let accepted = 0;
    let glibOnly = 0;
    cases.forEach((c, i) => {
      const ts = typeString(c.type);
      const where = `seed ${seed}, case ${i}: ${ts} ${c.order} ${hex(c.bytes)}`;
      let ours: GVValue | undefined;
      let err: GVariantError | undefined;
      try {
        ours = decode(c.type, c.bytes, c.order);
      } catch (e) {
        assert.ok(e instanceof GVariantError, `${where}: ${String(e)}`);
        err = e;
      }
      if (err?.code === 'GVARIANT_DUPLICATE_KEY') return; // our policy; GLib allows repeats
      // Tagged JSON keeps NaN but not its payload, so a NaN cannot be re-serialized bit-exactly.
      const hasNaN = JSON.stringify(glib[i]!.value).includes('{"double":"NaN"}');
      const glibWrites = glib[i]!.normal && (hasNaN || rewritten[i] === hex(c.bytes));
      if (err !== undefined && glib[i]!.normal && !glibWrites) {
        glibOnly++;
        if (process.env.GV_VERBOSE) console.log(`GLib-normal, not GLib-written: ${where} -> ${rewritten[i]}`);
        return;
      }
      assert.equal(err === undefined, glibWrites, `${where}: ours ${err?.code ?? 'accepts'}, GLib normal=${glib[i]!.normal}, rewrites as ${rewritten[i]}`);
      if (ours !== undefined) {
        accepted++;
        assert.deepEqual(toTaggedJSON(ts, ours), glib[i]!.value, where);
      }
    });
    console.log(`glib oracle: ${cases.length} hostile inputs, ${accepted} accepted by both, ${glibOnly} normal for GLib but not what it writes (seed ${seed})`);
  } finally {
    await oracle.close();
  }
});
