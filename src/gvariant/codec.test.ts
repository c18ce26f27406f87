import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GVariantError } from '../errors.js';
import { typedValueArb } from '../../testkit/gvariant-arb.js';
import { decode, encode, parseType, typeString, Variant, type GVValue } from './index.js';
import { toTaggedJSON } from './json.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof GVariantError, `expected a GVariantError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

// spec/ostree-format.md §2.7, hex exactly as GLib emits it.
const WORKED: [string, string, GVValue][] = [
  ['a{sv}', '75000000000000000100000000750200730000000000000068690000730200006173000000000000780002006173030f1e2f',
    new Map<GVValue, GVValue>([['u', new Variant('u', 1)], ['s', new Variant('s', 'hi')], ['as', new Variant('as', ['x'])]])],
  ['a{ss}', '6b007600026b65790076616c0004050e', new Map([['k', 'v'], ['key', 'val']])],
  ['(ss)', '666f6f006261720004', ['foo', 'bar']],
  ['as', '610062630000020506', ['a', 'bc', '']],
  ['ay', '010203', Uint8Array.of(1, 2, 3)],
  ['a(yu)', '01000000020000000300000004000000', [[1, 2], [3, 4]]],
  ['v', '050000000075', new Variant('u', 5)],
  ['(a(say)a(sayay))', '00', [[], []]],
  ['a{sv}', '', new Map()],
  ['()', '00', []],
  ['s', '00', ''],
  ['ms', '', null],
];

test('worked examples encode to the exact bytes and decode back', () => {
  for (const [type, h, value] of WORKED) {
    assert.equal(hex(encode(type, value)), h, type);
    assert.deepEqual(toTaggedJSON(type, decode(type, bytes(h))), toTaggedJSON(type, value), type);
  }
});

test('dirmeta in big-endian and the small commit', () => {
  assert.equal(hex(encode('(uuuusa(ayay))', [0, 0, 0o100644, 0, '', []], 'be')), '0000000000000000000081a4000000000011');
  const commit = '76657273696f6e0031000073080d' + '7375626a0000' + '00000000' + '0000000065937d25' +
    '11'.repeat(32) + '22'.repeat(32) + '4014130e0e0e';
  const value: GVValue = [new Map([['version', new Variant('s', '1')]]), new Uint8Array(0), [], 'subj', '',
    1704164645n, new Uint8Array(32).fill(0x11), new Uint8Array(32).fill(0x22)];
  // OSTree stores the timestamp big-endian inside an otherwise little-endian commit.
  const le = encode('(a{sv}aya(say)sstayay)', [...(value as GVValue[]).slice(0, 5), 0x257d936500000000n, ...(value as GVValue[]).slice(6)]);
  assert.equal(hex(le), commit);
  assert.equal(le.length, 102);
});

test('byteswap moves only numbers: framing offsets stay little-endian', () => {
  const v: GVValue = [new Map([['k', new Variant('q', 0x0102)]]), 0x0304];
  assert.equal(hex(encode('(a{sv}q)', v, 'le')), '6b0000000000000002010071020d04030e');
  assert.equal(hex(encode('(a{sv}q)', v, 'be')), '6b0000000000000001020071020d03040e');
  assert.deepEqual(toTaggedJSON('(a{sv}q)', decode('(a{sv}q)', bytes('6b0000000000000001020071020d03040e'), 'be')), toTaggedJSON('(a{sv}q)', v));
});

test('offset width grows at 255 and 65535 total bytes', () => {
  const as = (a: number, b: number) => encode('as', ['a'.repeat(a), 'b'.repeat(b)]);
  assert.equal(as(126, 125).length, 255); // 253 + 2×1
  assert.equal(as(126, 126).length, 258); // 254 + 2×2
  assert.deepEqual([...as(126, 126).subarray(254)], [127, 0, 254, 0]);
  assert.equal(as(32765, 32764).length, 65535); // 65531 + 2×2
  assert.equal(as(32766, 32765).length, 65541); // 65533 + 2×2 > 65535, so 65533 + 2×4
  for (const [a, b] of [[126, 125], [126, 126], [32765, 32764], [32765, 32765], [32766, 32766]] as const) {
    const enc = as(a, b);
    const body = a + b + 2;
    const w = body + 2 <= 0xff ? 1 : body + 4 <= 0xffff ? 2 : 4;
    assert.equal(enc.length, body + 2 * w, `${a}+${b}`);
    assert.deepEqual(decode('as', enc), ['a'.repeat(a), 'b'.repeat(b)]);
  }
});

test('type strings parse and print back; bad ones are GVARIANT_BAD_TYPE', () => {
  for (const s of ['y', 'a{sv}', '(a{sv}aya(say)sstayay)', 'mmv', '()', '{yv}', 'a' .repeat(128) + 'y', '('.repeat(128) + ')'.repeat(128)]) {
    assert.equal(typeString(parseType(s)), s);
  }
  for (const s of ['', 'a', 'z', '(', '(y', 'yy', '{vy}', '{y}', '{yyy}', 'a{sv', 'r', '*', '?', 'a'.repeat(129) + 'y', '('.repeat(129) + ')'.repeat(129)]) {
    assert.equal(code(() => parseType(s)), 'GVARIANT_BAD_TYPE', JSON.stringify(s));
  }
});

test('encode validates values against the type', () => {
  const cases: [string, unknown][] = [
    ['y', 256], ['y', -1], ['n', 0x8000], ['q', -1], ['i', 2 ** 31], ['u', 2 ** 32], ['u', 1.5], ['h', '1'],
    ['x', 1], ['x', 1n << 63n], ['t', -1n], ['t', 1n << 64n], ['d', 1n], ['b', 1],
    ['s', 'a\0b'], ['s', '\ud800'], ['s', 5], ['o', 'a'], ['o', '/a/'], ['o', '//'], ['o', '/a-b'], ['g', 'ms'], ['g', 'a'], ['g', '(y'],
    // biome-ignore lint/suspicious/noSparseArray: the hole in ['ai', [1, , 3]] is the bad value under test
    ['v', 5], ['(yy)', [1]], ['(yy)', [1, 2, 3]], ['a{sv}', {}], ['a{sv}', new Map([['k', 1]])], ['ay', 'x'], ['mmy', 1], ['ai', [1, , 3]],
  ];
  for (const [t, v] of cases) assert.equal(code(() => encode(t, v as GVValue)), 'GVARIANT_BAD_VALUE', `${t} ${String(v)}`);
  assert.equal(code(() => encode('v', new Variant('y', 1), 'xx' as 'le')), 'GVARIANT_BAD_VALUE');
  assert.equal(hex(encode('o', '/')), '2f00');
  assert.equal(hex(encode('g', '')), '00');
  assert.equal(hex(encode('ay', [1, 2])), '0102');
});

test('variant nesting follows GLib: 127 nested v around a byte is the deepest', () => {
  let v: GVValue = 7;
  let type = 'y';
  for (let i = 0; i < 126; i++) {
    v = new Variant(type, v);
    type = 'v';
  }
  const ok = encode('v', new Variant(type, v));
  assert.equal(ok.length, 1 + 2 * 127);
  let d = decode('v', ok);
  let n = 0;
  while (d instanceof Variant) { d = d.value; n++; }
  assert.equal(n, 127);
  assert.equal(d, 7);
  assert.equal(code(() => encode('v', new Variant('v', new Variant(type, v)))), 'GVARIANT_TOO_DEEP');
  assert.equal(code(() => decode('v', new Uint8Array([...ok, 0, 0x76]))), 'GVARIANT_TOO_DEEP');
  // A deep type inside a few variants: (variants above) + depth(type) < 128.
  const deep = 'a'.repeat(120) + 'y';
  const wrap = (k: number) => new Uint8Array(Buffer.from('00' + Buffer.from(deep).toString('hex') + '0076'.repeat(k - 1), 'hex'));
  assert.ok(decode('v', wrap(7)) instanceof Variant);
  assert.equal(code(() => decode('v', wrap(8))), 'GVARIANT_TOO_DEEP');
});

test('round trip: decode(encode(v)) == v for random types and values, both orders', () => {
  fc.assert(
    fc.property(typedValueArb(3), fc.constantFrom('le' as const, 'be' as const), ({ type, value }, order) => {
      const enc = encode(type, value, order);
      const back = decode(type, enc, order);
      assert.deepEqual(toTaggedJSON(type, back), toTaggedJSON(type, value));
      assert.deepEqual(encode(type, back, order), enc);
    }),
    { numRuns: 3000, interruptAfterTimeLimit: 5000 },
  );
});
