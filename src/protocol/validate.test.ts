import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import { DEFS_SCHEMA, MESSAGE_SCHEMAS } from '../../spec/schemas.js';
import { ProtocolError } from '../errors.js';
import { needTools } from '../../testkit/tools.js';
import type { Message, StatusMessage } from '../wire/messages.js';
import { type Agrees, bodyToJson, validateBody, validateMessage, type WireMatchesSchemas } from './validate.js';
import type { StatusBody, UpdateBody } from './messages.generated.js';

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
  it('validates with the validators compiled at build time: ajv\'s compiler is never loaded', () => {
    validateBody('STATUS', { result: true, message: '' });
    assert.throws(() => validateBody('STATUS', { result: 'yes', message: '' }), { code: 'PROTOCOL_BAD_MESSAGE' });
    // In a process of its own (this file loads ajv to compare against): validate one body, list the ajv files loaded.
    const script = [
      "import { createRequire } from 'node:module';",
      `const { validateBody } = await import(${JSON.stringify(new URL('./validate.ts', import.meta.url).href)});`,
      "validateBody('STATUS', { result: true, message: '' });",
      'console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache).filter((p) => /[\\\\/]ajv[\\\\/]/.test(p))));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const loaded = JSON.parse(out) as string[];
    assert.ok(loaded.length > 0, 'the run-time helpers are loaded: the check sees ajv files');
    assert.deepEqual(loaded.filter((p) => /[\\/]ajv[\\/]dist[\\/](compile|core|2020)/.test(p)), []);
  });

  it('remembers only valid frozen messages: a frozen bad body is refused every time', () => {
    const bad = Object.freeze({ type: 'STATUS', result: 'yes', message: '', extra: new Map() });
    for (let i = 0; i < 2; i++) assert.throws(() => validateMessage(bad), { code: 'PROTOCOL_BAD_MESSAGE' });
    const good = Object.freeze({ type: 'STATUS', result: true, message: '', extra: new Map() });
    validateMessage(good);
    validateMessage(good);
    // An unfrozen message is judged on what it holds now.
    const loose: Record<string, unknown> = { type: 'STATUS', result: true, message: '', extra: new Map() };
    validateMessage(loose as never);
    loose['result'] = 1;
    assert.throws(() => validateMessage(loose as never), { code: 'PROTOCOL_BAD_MESSAGE' });
  });

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

  it("accepts the 2015 pusher's <commit>.sig and .sizes2 compatibility files in PUTOBJECT, and nothing like them", () => {
    validateBody('PUTOBJECT', { object: `${A}.sig`, size: 566 });
    validateBody('PUTOBJECT', { object: `${A}.sizes2`, size: 20 * 1024 * 1024 });
    for (const bad of [`${A}.sizes`, `${A}.sig2`, `${A}.SIG`, `${A.toUpperCase()}.sig`, `../${A}.sig`, `${A}.sig/x`, '.sig', `${A}.sigs`]) {
      rejects('PUTOBJECT', { object: bad, size: 1 }, /^PUTOBJECT: object does not match the object-name pattern/);
    }
  });

  it('renders a bad ref name as one clear line', () => {
    rejects('UPDATE', { refs: { '../x': { from: Z, to: A } } }, "UPDATE: refs/'../x' does not match the ref-name pattern");
    rejects('REPORT', { moved: [], refused: { 'a//b': 'no' } }, "REPORT: refused/'a//b' does not match the ref-name pattern");
  });

  it('INFO may list any non-empty name of at most 4096 characters (remote refs such as origin:stable), each with a checksum', () => {
    validateBody('INFO', { mode: 1, refs: { 'origin:stable': A, 'os/main': B, 'remote:os/x86_64/3.0': A, 'a b/../c': A, ['r'.repeat(4096)]: A } });
    rejects('INFO', { mode: 1, refs: { '': A } }, "INFO: refs/'' does not meet the listed-ref-name rule (a non-empty string of at most 4096 characters)");
    rejects('INFO', { mode: 1, refs: { ['r'.repeat(4097)]: A } }, `INFO: refs/'${'r'.repeat(77)}...' does not meet the listed-ref-name rule (a non-empty string of at most 4096 characters)`);
    rejects('INFO', { mode: 1, refs: { 'origin:stable': A.toUpperCase() } }, "INFO: refs/'origin:stable' does not match the checksum pattern (64 lowercase hex digits)");
    rejects('INFO', { mode: 1, refs: { 'origin:stable': Z.slice(1) } }, /^INFO: refs\/'origin:stable' does not match the checksum pattern/);
  });

  it('applies ostree ref-name rules, Unicode-aware', () => {
    for (const good of ['a', 'a.b-c_d', '1abc', '_under', 'A.B', 'os/x86_64/main', 'x..y', 'trailing.', 'é', '١']) {
      validateBody('UPDATE', { refs: { [good]: { from: Z, to: A } } });
    }
    for (const bad of ['', '..', 'a/../b', '/lead', 'trail/', 'a//b', 'has space', '-dash', '.dot', 'a/.hidden', 'a~1', 'a*b', 'a@b', 'a+b', 'remote:ref']) {
      rejects('UPDATE', { refs: { [bad]: { from: Z, to: A } } }, /ref-name pattern$/);
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

describe('the schemas themselves', () => {
  it('are valid JSON Schema 2020-12', () => {
    type AjvClass = typeof Ajv2020Module.default;
    const Ajv2020: AjvClass = (Ajv2020Module as unknown as { default?: AjvClass }).default ?? (Ajv2020Module as unknown as AjvClass);
    const ajv = new Ajv2020({ strict: false });
    for (const s of [DEFS_SCHEMA, ...MESSAGE_SCHEMAS.map((m) => m.schema)]) {
      assert.equal(ajv.validateSchema(s), true, JSON.stringify(ajv.errors));
    }
  });

  it('the ref-name pattern agrees with ostree (GLib GRegex) on tricky names', (t) => {
    if (!needTools(t, 'glib')) return;
    const names = ['a', 'é', '١', '½', 'x..y', 'os/x86_64/main', '_', 'ﬁ', 'a\u0301', 'Ⅻ', '..', '-a', 'a//b', 'a b', 'a/.b', '𝔘x', 'a\u200bb', 'ß/ẞ'];
    const script = `import json,sys\nfrom gi.repository import GLib\nr='^(?:[\\w\\d][-._\\w\\d]*/)*[\\w\\d][-._\\w\\d]*$'\nprint(json.dumps([GLib.Regex.match_simple(r, n, 0, 0) for n in json.load(sys.stdin)]))`;
    const decoded = names.map((n) => n.replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))));
    const glib = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(decoded), encoding: 'utf8' })) as boolean[];
    const ours = decoded.map((n) => { try { validateBody('UPDATE', { refs: { [n]: { from: Z, to: A } } }); return true; } catch { return false; } });
    assert.deepEqual(ours, glib, JSON.stringify(decoded.map((n, i) => [n, glib[i], ours[i]])));
  });
});

describe('validateMessage over decoded wire messages', () => {
  it('turns Maps into objects, keeps extra keys, and a huge u64 size still fails', () => {
    const json = bodyToJson({ type: 'INFO', mode: 1, refs: new Map([['main', A]]), extra: new Map([['caps', 1]]) });
    assert.deepEqual(JSON.parse(JSON.stringify(json)), { caps: 1, mode: 1, refs: { main: A } });
    assert.equal(Object.getPrototypeOf(json), null, 'no prototype a key could reach');
    validateMessage({ type: 'PUTOBJECT', object: `${A}.filez`, size: 2n ** 53n - 1n, extra: new Map() });
    for (const size of [2n ** 53n, 2n ** 64n - 1n]) {
      assert.throws(() => validateMessage({ type: 'PUTOBJECT', object: `${A}.filez`, size, extra: new Map() }), /size must be at most 9007199254740991/);
    }
  });

  it('keeps a ref named __proto__ as a key instead of touching the prototype', () => {
    const json = bodyToJson({ type: 'UPDATE', refs: new Map([['__proto__', { from: Z, to: A }]]) });
    assert.deepEqual(Object.keys(json['refs'] as object), ['__proto__']);
    assert.equal(({} as Record<string, unknown>)['from'], undefined, 'Object.prototype untouched');
    validateMessage({ type: 'UPDATE', refs: new Map([['__proto__', { from: Z, to: A }]]) });
  });
});

describe('the wire interfaces and the schemas describe the same bodies (checked by tsc)', () => {
  it('every message type agrees; an interface drifting from its schema is a type error', () => {
    // A type error here when src/wire/messages.ts and spec/messages/*.schema.json disagree.
    const all: WireMatchesSchemas<Message> = { INFO: true, UPDATE: true, PUTOBJECT: true, STATUS: true, DONE: true, QUERY: true, ANSWER: true, REPORT: true };
    // @ts-expect-error a STATUS whose result is a string no longer matches its schema
    const wrongType: Agrees<Omit<StatusMessage, 'result'> & { result: string }, StatusBody> = true;
    // @ts-expect-error a STATUS without the message the schema requires
    const missing: Agrees<Omit<StatusMessage, 'message'>, StatusBody> = true;
    // @ts-expect-error an UPDATE with a key the schema does not have
    const extra: Agrees<{ type: 'UPDATE'; refs: Map<string, { from: string; to: string }>; force: boolean }, UpdateBody> = true;
    assert.ok(all && wrongType && missing && extra);
  });
});
