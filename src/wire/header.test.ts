import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../errors.js';
import { MESSAGE_TYPES, type MessageTypeName } from './constants.js';
import { decodeHeader, encodeHeader, type Header } from './header.js';

function wireCode(code: string) {
  return (e: unknown) => e instanceof WireError && e.code === code;
}

describe('encodeHeader / decodeHeader', () => {
  it('lays out a little-endian header byte for byte', () => {
    assert.deepEqual([...encodeHeader({ order: 'le', version: 0, type: 'STATUS', length: 0x1234 })], [0x6c, 0, 3, 0x34, 0x12]);
  });

  it('lays out a big-endian header byte for byte', () => {
    assert.deepEqual([...encodeHeader({ order: 'be', version: 0, type: 'PUTOBJECT', length: 0x1234 })], [0x42, 0, 2, 0x12, 0x34]);
  });

  it('round-trips every type, order and length', () => {
    const types = Object.keys(MESSAGE_TYPES) as MessageTypeName[];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.constantFrom('le' as const, 'be' as const), fc.integer({ min: 0, max: 0xffff }), (type, order, length) => {
        const h: Header = { order, version: 0, type, length };
        assert.deepEqual(decodeHeader(encodeHeader(h)), h);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores bytes after the header', () => {
    const bytes = new Uint8Array([0x6c, 0, 4, 0, 0, 0xff, 0xff]);
    assert.deepEqual(decodeHeader(bytes), { order: 'le', version: 0, type: 'DONE', length: 0 });
  });

  it('reads a header at a non-zero offset of its buffer', () => {
    const buf = new Uint8Array([9, 9, 9, 0x42, 0, 1, 0x01, 0x02]);
    assert.deepEqual(decodeHeader(buf.subarray(3)), { order: 'be', version: 0, type: 'UPDATE', length: 0x0102 });
  });

  it('rejects a bad byte-order byte', () => {
    for (const b of [0x00, 0x4c /* 'L' */, 0x62 /* 'b' */, 0xff]) {
      assert.throws(() => decodeHeader(new Uint8Array([b, 0, 0, 0, 0])), wireCode('WIRE_BAD_ORDER'));
    }
  });

  it('rejects an unknown version, keeping the number', () => {
    assert.throws(
      () => decodeHeader(new Uint8Array([0x6c, 1, 0, 0, 0])),
      (e) => wireCode('WIRE_BAD_VERSION')(e) && (e as WireError).data.version === 1,
    );
  });

  it('rejects an unknown type as a framing error, keeping the number', () => {
    for (const t of [8, 9, 0x80, 0xff]) {
      assert.throws(
        () => decodeHeader(new Uint8Array([0x6c, 0, t, 0, 0])),
        (e) => wireCode('WIRE_UNKNOWN_TYPE')(e) && (e as WireError).data.type === t,
      );
    }
  });

  it('checks order before version before type', () => {
    assert.throws(() => decodeHeader(new Uint8Array([0x00, 9, 9, 0, 0])), wireCode('WIRE_BAD_ORDER'));
    assert.throws(() => decodeHeader(new Uint8Array([0x42, 9, 9, 0, 0])), wireCode('WIRE_BAD_VERSION'));
  });

  it('reports a short header as truncated with the missing count', () => {
    assert.throws(
      () => decodeHeader(new Uint8Array([0x6c, 0])),
      (e) => wireCode('WIRE_TRUNCATED')(e) && (e as WireError).data.missing === 3,
    );
  });

  it('refuses to encode a length that does not fit 16 bits, or bad fields', () => {
    assert.throws(() => encodeHeader({ order: 'le', version: 0, type: 'INFO', length: 65536 }), wireCode('WIRE_BODY_TOO_LARGE'));
    assert.throws(() => encodeHeader({ order: 'le', version: 0, type: 'INFO', length: -1 }), wireCode('WIRE_BODY_TOO_LARGE'));
    assert.throws(() => encodeHeader({ order: 'le', version: 1, type: 'INFO', length: 0 }), wireCode('WIRE_BAD_VERSION'));
    assert.throws(() => encodeHeader({ order: 'xx' as 'le', version: 0, type: 'INFO', length: 0 }), wireCode('WIRE_BAD_ORDER'));
    assert.throws(() => encodeHeader({ order: 'le', version: 0, type: 'NOPE' as 'INFO', length: 0 }), wireCode('WIRE_UNKNOWN_TYPE'));
  });
});
