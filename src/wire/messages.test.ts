import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WireError } from '../errors.js';
import { encode, Variant } from '../gvariant/index.js';
import { messageArb, orderArb } from '../../testkit/wire-arb.js';
import {
  decodeBody,
  decodeDone,
  decodeInfo,
  decodePutObject,
  decodeStatus,
  decodeUpdate,
  encodeBody,
  encodeDone,
  encodeInfo,
  encodeMessage,
  encodePutObject,
  encodeStatus,
  encodeUpdate,
  type Message,
} from './messages.js';
import { decodeHeader } from './header.js';

const C1 = 'a'.repeat(64);
const C2 = 'b'.repeat(64);
const ZERO = '0'.repeat(64);

function badBody(key: string | undefined, reason?: string) {
  return (e: unknown) =>
    e instanceof WireError && e.code === 'WIRE_BAD_BODY' && (key === undefined || e.data.key === key) && (reason === undefined || e.data.reason === reason);
}

const samples: Message[] = [
  { type: 'INFO', mode: 1, refs: new Map([['main', C1], ['app/x86_64/stable', C2]]), extra: new Map() },
  { type: 'INFO', mode: 0, refs: new Map(), extra: new Map([['x-capabilities', new Variant('as', ['delta'])]]) },
  { type: 'UPDATE', refs: new Map([['main', { from: C1, to: C2 }], ['new', { from: ZERO, to: C1 }]]) },
  { type: 'UPDATE', refs: new Map() },
  { type: 'PUTOBJECT', object: `${C1}.filez`, size: 2n ** 64n - 1n, extra: new Map() },
  { type: 'STATUS', result: true, message: '', extra: new Map() },
  { type: 'STATUS', result: false, message: 'ref main moved', extra: new Map() },
  { type: 'DONE', extra: new Map() },
];

describe('message codecs', () => {
  it('round-trip samples of every type in both byte orders', () => {
    for (const order of ['le', 'be'] as const) {
      for (const m of samples) assert.deepEqual(decodeBody(m.type, encodeBody(m, order), order), m, `${m.type} ${order}`);
    }
  });

  it('round-trip random messages in both byte orders', () => {
    fc.assert(
      fc.property(messageArb, orderArb, (m, order) => {
        assert.deepEqual(decodeBody(m.type, encodeBody(m, order), order), m);
      }),
      { numRuns: 300 },
    );
  });

  it('encode each type through its own pair', () => {
    const info = encodeInfo({ mode: 1, refs: new Map([['main', C1]]) }, 'be');
    assert.deepEqual(decodeInfo(info, 'be'), { type: 'INFO', mode: 1, refs: new Map([['main', C1]]), extra: new Map() });
    assert.deepEqual(decodeUpdate(encodeUpdate({ refs: new Map([['r', { from: ZERO, to: C2 }]]) })).refs.get('r'), { from: ZERO, to: C2 });
    assert.equal(decodePutObject(encodePutObject({ object: 'o', size: 7n })).size, 7n);
    assert.equal(decodeStatus(encodeStatus({ result: false, message: 'no' })).message, 'no');
    assert.deepEqual(decodeDone(encodeDone({})), { type: 'DONE', extra: new Map() });
  });

  it('encode an empty DONE body as zero bytes', () => {
    assert.equal(encodeDone({}).length, 0);
    assert.deepEqual([...encodeMessage({ type: 'DONE', extra: new Map() }, 'be')], [0x42, 0, 4, 0, 0]);
  });

  it('put the known keys first, in table order, then extras in Map order', () => {
    const body = encodeStatus({ result: true, message: 'ok', extra: new Map([['z', new Variant('s', 'z')], ['a', new Variant('s', 'a')]]) });
    const decoded = decodeBody('STATUS', body) as Extract<Message, { type: 'STATUS' }>;
    assert.deepEqual([...decoded.extra.keys()], ['z', 'a']);
    const expected = encode('a{sv}', new Map([
      ['result', new Variant('b', true)],
      ['message', new Variant('s', 'ok')],
      ['z', new Variant('s', 'z')],
      ['a', new Variant('s', 'a')],
    ]));
    assert.deepEqual(body, expected);
  });

  it('decode whatever key order a peer used', () => {
    const body = encode('a{sv}', new Map([['size', new Variant('t', 9n)], ['object', new Variant('s', 'x')]]), 'be');
    assert.deepEqual(decodePutObject(body, 'be'), { type: 'PUTOBJECT', object: 'x', size: 9n, extra: new Map() });
  });

  it('reject a known key of the wrong variant type, naming the key', () => {
    const cases: [string, Map<string, Variant>][] = [
      ['INFO', new Map([['mode', new Variant('u', 1)], ['refs', new Variant('a{ss}', new Map())]])],
      ['INFO', new Map([['mode', new Variant('i', 1)], ['refs', new Variant('a{sv}', new Map())]])],
      ['PUTOBJECT', new Map([['object', new Variant('s', 'x')], ['size', new Variant('x', 1n)]])],
      ['STATUS', new Map([['result', new Variant('i', 1)], ['message', new Variant('s', '')]])],
      ['UPDATE', new Map([['main', new Variant('as', [C1, C2])]])],
    ];
    const keys = ['mode', 'refs', 'size', 'result', 'main'];
    cases.forEach(([type, body], i) => {
      assert.throws(() => decodeBody(type as Message['type'], encode('a{sv}', body)), badBody(keys[i], 'type'), `${type}`);
    });
  });

  it('reject a missing required key, naming the key', () => {
    assert.throws(() => decodeInfo(encode('a{sv}', new Map([['mode', new Variant('i', 1)]]))), badBody('refs', 'missing'));
    assert.throws(() => decodeStatus(encodeDone({})), badBody('result', 'missing'));
    assert.throws(() => decodePutObject(encode('a{sv}', new Map([['size', new Variant('t', 1n)]]))), badBody('object', 'missing'));
  });

  it('turn a malformed a{sv} into WIRE_BAD_BODY carrying the GVariant code', () => {
    assert.throws(
      () => decodeStatus(new Uint8Array([1, 2, 3])),
      (e) => badBody(undefined)(e) && typeof (e as WireError).data.gvariant === 'string' && (e as WireError).cause !== undefined,
    );
  });

  it('refuse an extra key that shadows a known key', () => {
    assert.throws(() => encodeInfo({ mode: 1, refs: new Map(), extra: new Map([['mode', new Variant('i', 2)]]) }), badBody('mode'));
  });

  it('refuse a body over 65,535 bytes at the sender instead of truncating its length', () => {
    const refs = new Map<string, string>();
    for (let i = 0; i < 1000; i++) refs.set(`ref-${String(i).padStart(4, '0')}`, C1);
    assert.throws(
      () => encodeMessage({ type: 'INFO', mode: 1, refs, extra: new Map() }),
      (e) => e instanceof WireError && e.code === 'WIRE_BODY_TOO_LARGE' && (e.data.length as number) > 65535,
    );
  });

  it('write the body length into the header', () => {
    fc.assert(
      fc.property(messageArb, orderArb, (m, order) => {
        const bytes = encodeMessage(m, order);
        const h = decodeHeader(bytes);
        assert.equal(h.length, bytes.length - 5);
        assert.equal(h.type, m.type);
        assert.equal(h.order, order);
      }),
      { numRuns: 100 },
    );
  });
});
