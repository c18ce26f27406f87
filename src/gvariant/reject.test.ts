/**
 * Strict decoding: each kind of non-normal input is refused with its code,
 * nothing but GVariantError ever escapes, and a time-boxed fuzz run holds.
 * (The must-reject vectors in conformance/ cover more shapes.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GVariantError } from '../errors.js';
import { runFuzz } from '../../testkit/gvariant-fuzz.js';
import { decode, encode, Variant, type ByteOrder } from './index.js';

function code(type: string, h: string, order: ByteOrder = 'le'): string {
  try {
    decode(type, new Uint8Array(Buffer.from(h, 'hex')), order);
  } catch (e) {
    assert.ok(e instanceof GVariantError, `expected a GVariantError, got ${String(e)}`);
    return e.code;
  }
  return 'accepted';
}

test('each normal-form rule has its rejection', () => {
  const NN = 'GVARIANT_NOT_NORMAL';
  const cases: [string, string, string, string][] = [
    ['non-zero padding', '(yu)', '0101000002000000', NN],
    ['non-minimal offset width', 'as', '61000200', NN],
    ['wrong fixed size', 'u', '010000', NN],
    ['trailing garbage', '(ss)', '666f6f0062617200040000', NN],
    ['string without NUL', 's', '6162', NN],
    ['string with inner NUL', 's', '61006200', NN],
    ['invalid UTF-8', 's', 'c32800', NN],
    ['bool not 0/1', 'b', '02', NN],
    ['variant type invalid', 'v', '01007a', NN],
    ['variant type not single', 'v', '01007979', NN],
    ['maybe-of-fixed wrong size', 'mu', '0100', NN],
    ['maybe-of-variable without 00', 'ms', '6100', NN],
    ['stray bytes before a tuple table', '(sy)', '6100050002', NN],
    ['bad object path', 'o', '2f612f00', NN],
    ['bad signature', 'g', '6d7900', NN],
    ['offset out of range', 'as', '6100ff', NN],
    ['bad type', 'a{vs}', '', 'GVARIANT_BAD_TYPE'],
    ['variants too deep', 'v', '070079' + '0076'.repeat(127), 'GVARIANT_TOO_DEEP'],
    ['duplicate key', 'a{sv}', Buffer.from(encode('a{sv}', new Map([['k', new Variant('y', 1)], ['j', new Variant('y', 2)]]))).toString('hex').replace('6a', '6b'), 'GVARIANT_DUPLICATE_KEY'],
  ];
  for (const [what, type, h, expected] of cases) assert.equal(code(type, h), expected, what);
});

test('a leading UTF-8 BOM is content, not stripped', () => {
  assert.equal(decode('s', Uint8Array.of(0xef, 0xbb, 0xbf, 0x78, 0)), '\ufeffx');
});

test('an empty variable tuple is refused although GLib calls it normal (GLib writes 00)', () => {
  // GLib reads size 0 with zero-width offsets; its writer emits one offset byte.
  assert.equal(code('(asms)', ''), 'GVARIANT_NOT_NORMAL');
  assert.equal(Buffer.from(encode('(asms)', [[], null])).toString('hex'), '00');
});

test('duplicate dictionary keys are refused, with fixed-size entries too', () => {
  const bytes = encode('a{ys}', new Map([[1, 'a'], [2, 'b']]));
  bytes[bytes.indexOf(2)] = 1;
  assert.throws(() => decode('a{ys}', bytes), (e: unknown) => e instanceof GVariantError && e.code === 'GVARIANT_DUPLICATE_KEY');
});

test('lying lengths do not drive allocation', () => {
  // A 4-byte offset table claiming 4 GiB in an 8-byte input.
  assert.equal(code('aay', 'ffffffff00000100'), 'GVARIANT_NOT_NORMAL');
  const big = new Uint8Array(70000);
  big.fill(0xff);
  assert.equal(code('as', Buffer.from(big).toString('hex')), 'GVARIANT_NOT_NORMAL');
});

test('fuzz: random and mutated bytes give a value or a GVariantError, and accepted bytes re-encode identically', () => {
  const report = runFuzz({ runs: 30000, timeLimitMs: 5000 });
  console.log(`gvariant fuzz: ${report.cases} cases in ${report.ms} ms (seed ${report.seed}) ${JSON.stringify(report.errors)}`);
  assert.deepEqual(report.failures, [], `seed ${report.seed}`);
  assert.ok(report.cases >= 1000, `only ${report.cases} cases`);
  assert.ok(report.accepted > 0 && report.errors.GVARIANT_NOT_NORMAL! > 0);
});
