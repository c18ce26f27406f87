import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError } from '../errors.js';
import { bodyToJson, validateBody, validateMessage } from './validate.js';

const Z = '0'.repeat(64);
const A = 'a'.repeat(64);
const B = '0123456789abcdef'.repeat(4);

function rejects(type: string, body: unknown, message: string | RegExp): void {
  assert.throws(
    () => validateBody(type as 'INFO', body),
    (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.equal(e.code, 'PROTOCOL_BAD_MESSAGE');
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe('validateBody', () => {
  it('accepts well-formed bodies of every type', () => {
    validateBody('INFO', { mode: 1, refs: { 'os/x86_64/main': A, 'é': B } });
    validateBody('INFO', { mode: 4, refs: {}, capabilities: ['later'] });
    validateBody('UPDATE', { refs: { main: { from: Z, to: A }, 'x..y': { from: A, to: B } } });
    validateBody('PUTOBJECT', { object: `${A}.filez`, size: 0 });
    validateBody('PUTOBJECT', { object: `${A}.filez`, size: Number.MAX_SAFE_INTEGER });
    validateBody('PUTOBJECT', { object: `${B}.commitmeta`, size: 10 * 1024 * 1024 });
    validateBody('STATUS', { result: false, message: 'ref main moved' });
    validateBody('DONE', {});
    validateBody('DONE', { unknown: 1 });
  });

  it('renders a bad ref name as one clear line', () => {
    rejects('UPDATE', { refs: { '../x': { from: Z, to: A } } }, "UPDATE: refs/'../x' does not match the ref-name pattern");
    rejects('INFO', { mode: 1, refs: { 'a//b': A } }, "INFO: refs/'a//b' does not match the ref-name pattern");
  });

  it('applies ostree ref-name rules, Unicode-aware', () => {
    for (const good of ['a', 'a.b-c_d', '1abc', '_under', 'A.B', 'os/x86_64/main', 'x..y', 'trailing.', 'é', '١']) {
      validateBody('INFO', { mode: 1, refs: { [good]: A } });
    }
    for (const bad of ['', '..', 'a/../b', '/lead', 'trail/', 'a//b', 'has space', '-dash', '.dot', 'a/.hidden', 'a~1', 'a*b', 'a@b', 'a+b', 'remote:ref']) {
      rejects('INFO', { mode: 1, refs: { [bad]: A } }, /ref-name pattern$/);
    }
  });

  it('rejects bad checksums, modes, sizes and names', () => {
    rejects('UPDATE', { refs: { 'os/main': { from: Z, to: A.toUpperCase() } } }, "UPDATE: refs/'os/main'/to does not match the checksum pattern (64 lowercase hex digits)");
    rejects('UPDATE', { refs: {} }, 'UPDATE: refs must name at least 1 ref');
    rejects('UPDATE', { refs: { a: { from: Z, to: A } }, extra: 1 }, "UPDATE: body has the unknown key 'extra'");
    rejects('INFO', { mode: 5, refs: {} }, 'INFO: mode must be at most 4');
    rejects('INFO', { refs: {} }, "INFO: body is missing the key 'mode'");
    rejects('PUTOBJECT', { object: `${A}.commit`, size: 10 * 1024 * 1024 + 1 }, 'PUTOBJECT: size must be at most 10485760 (the metadata object cap)');
    rejects('PUTOBJECT', { object: `../${A}.filez`, size: 1 }, /^PUTOBJECT: object does not match the object-name pattern/);
    rejects('PUTOBJECT', { object: `${A}.file`, size: 1 }, /object-name pattern/);
    rejects('PUTOBJECT', { object: `${A}.filez`, size: -1 }, /^PUTOBJECT: size must be >= 0$/);
    rejects('STATUS', { result: true }, "STATUS: body is missing the key 'message'");
    rejects('STATUS', { result: false, message: 'x'.repeat(4097) }, /^STATUS: message must NOT have more than 4096 characters$/);
    rejects('NOPE', {}, 'unknown message type "NOPE"');
  });
});

describe('validateMessage over decoded wire messages', () => {
  it('turns Maps into objects, keeps extra keys, and a huge u64 size still fails', () => {
    const json = bodyToJson({ type: 'INFO', mode: 1, refs: new Map([['main', A]]), extra: new Map([['caps', 1]]) });
    assert.deepEqual(json, { caps: 1, mode: 1, refs: { main: A } });
    validateMessage({ type: 'PUTOBJECT', object: `${A}.filez`, size: 2n ** 53n - 1n, extra: new Map() });
    for (const size of [2n ** 53n, 2n ** 64n - 1n]) {
      assert.throws(() => validateMessage({ type: 'PUTOBJECT', object: `${A}.filez`, size, extra: new Map() }), /size must be at most 9007199254740991/);
    }
  });

  it('keeps a ref named __proto__ as a key instead of touching the prototype', () => {
    const json = bodyToJson({ type: 'UPDATE', refs: new Map([['__proto__', { from: Z, to: A }]]) });
    assert.deepEqual(Object.keys(json['refs'] as object), ['__proto__']);
    validateMessage({ type: 'UPDATE', refs: new Map([['__proto__', { from: Z, to: A }]]) });
  });
});
