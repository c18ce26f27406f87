/**
 * The codec's speed paths against their general ones: the reused output
 * buffer, the ASCII string paths (and where they hand over to UTF-8), dict
 * entries written from a Map, and the bounded cache of type strings read
 * from input. GLib equality of the bytes is glib.test.ts's job; here the
 * expected hex follows from the format rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GVariantError } from '../errors.js';
import { decode, encode, Variant, type GVValue } from './index.js';
import { untrustedCacheSize } from './plan.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a failed encode leaves nothing behind for the next one', () => {
  const good = new Map([['k', new Variant('s', 'v')]]);
  const first = hex(encode('a{sv}', good));
  assert.throws(() => encode('a{sv}', new Map([['a', new Variant('s', 'x')], ['b', new Variant('u', -1)]])),
    (e: unknown) => e instanceof GVariantError && e.code === 'GVARIANT_BAD_VALUE' && (e.data as { path: string }).path === '/1/1/v');
  assert.equal(hex(encode('a{sv}', good)), first);
});

test('values larger than the reused buffer, and results that do not alias it', () => {
  const big = 'x'.repeat(200_000);
  const a = encode('(ss)', [big, 'y']);
  assert.equal(a.length, 200_000 + 1 + 2 + 4); // body, 4-byte offset width
  const b = encode('s', 'z');
  assert.equal(hex(b), '7a00');
  assert.deepEqual(decode('(ss)', a), [big, 'y']);
  assert.equal(a[0], 0x78, 'the first result is untouched by the second encode');
});

test('strings on both sides of the ASCII paths round-trip', () => {
  for (const s of ['', 'a', 'x'.repeat(16), 'x'.repeat(17), 'é', 'x'.repeat(16) + 'é', 'é' + 'x'.repeat(40), '\u{1F600}', '\u007f\u0080']) {
    const b = encode('s', s);
    assert.equal(hex(b), Buffer.from(s + '\0', 'utf8').toString('hex'), JSON.stringify(s));
    assert.equal(decode('s', b), s);
  }
  assert.throws(() => encode('s', 'ab\0c'), (e: unknown) => e instanceof GVariantError && /NUL/.test(e.message));
  assert.throws(() => encode('s', 'é\0'), (e: unknown) => e instanceof GVariantError && /NUL/.test(e.message));
  assert.throws(() => encode('s', 'a\uD800'), (e: unknown) => e instanceof GVariantError && /surrogate/.test(e.message));
  assert.throws(() => decode('s', Uint8Array.of(0x61, 0xff, 0)), (e: unknown) => e instanceof GVariantError && e.code === 'GVARIANT_NOT_NORMAL');
  assert.throws(() => encode('o', '/a/'), (e: unknown) => e instanceof GVariantError && /object path/.test(e.message));
});

test('dict entries from a Map: key offset taken before the value is aligned', () => {
  // {st}: key "ab\0" (3 bytes), padding to 8, value, then the key's end (3).
  const m = new Map<GVValue, GVValue>([['ab', 5n]]);
  const b = encode('a{st}', m);
  assert.equal(hex(b), '6162000000000000' + '0500000000000000' + '03' + '11');
  assert.deepEqual(decode('a{st}', b), m);
  // Fixed entries ({yu}) carry no offsets and are padded to their size.
  assert.equal(hex(encode('a{yu}', new Map([[1, 2]]))), '0100000002000000');
});

test('type strings read from input are cached within a bound', () => {
  // 600 distinct valid variant types, each a tuple of a different number of bytes.
  for (let n = 1; n <= 600; n++) {
    const ts = '(' + 'y'.repeat(n % 30 + 1) + 'a'.repeat(Math.floor(n / 30)) + 'y)';
    const v = new Variant(ts, decode(ts, encode(ts, defaultFor(ts))));
    const back = decode('v', encode('v', v)) as Variant;
    assert.equal(back.type, ts);
    assert.ok(untrustedCacheSize() <= 256);
  }
});

function defaultFor(ts: string): GVValue {
  // (y…y a…ay): bytes as 0, the nested arrays empty.
  const inner = ts.slice(1, -1);
  const ys = inner.indexOf('a') < 0 ? inner.length : inner.indexOf('a');
  const out: GVValue[] = Array.from({ length: ys }, () => 0);
  if (inner.indexOf('a') >= 0) out.push([]);
  return out;
}
