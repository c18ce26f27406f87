import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { InfoBody, MessageBodies, UpdateBody } from '../src/protocol/messages.generated.js';
import { MESSAGE_CODES } from '../src/protocol/messages.generated.js';
import { validateBody } from '../src/protocol/validate.js';
import { blocks, fillBlocks, outputs, wireTypesSource } from './generate.js';
import { MESSAGE_SCHEMAS, type MessageSchema } from './schemas.js';
import { typeOf } from './typegen.js';

describe('generated files', () => {
  for (const [path, want, have] of outputs()) {
    it(`${path.replace(/^.*\/(spec|src)\//, '$1/')} is up to date (npx tsx spec/generate.ts)`, () => {
      assert.ok(want === have, `stale: run npx tsx spec/generate.ts`);
    });
  }

  it('protocol.md has exactly the generated blocks the generator knows', () => {
    const md = outputs()[0]?.[2] ?? '';
    const names = [...md.matchAll(/<!-- generated:([\w:-]+) -->/g)].map((m) => m[1]).sort();
    assert.deepEqual(names, Object.keys(blocks()).sort());
  });

  it('a block edited by hand is stale, an unknown block is an error', () => {
    const md = 'a\n<!-- generated:errors -->\nhand-written\n<!-- /generated -->\nb\n';
    const filled = fillBlocks(md, blocks());
    assert.notEqual(filled, md);
    assert.equal(fillBlocks(filled, blocks()), filled, 'filling is idempotent');
    assert.throws(() => fillBlocks('<!-- generated:nope -->\n<!-- /generated -->', blocks()), /unknown block nope/);
  });

  it('--check passes on the committed files', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'spec/generate.ts', '--check'], { encoding: 'utf8' });
    assert.equal(out, '');
  });
});

describe('types from schemas', () => {
  it('the converter refuses keywords it does not understand', () => {
    assert.throws(() => typeOf({ type: 'string', format: 'email' }), /unsupported keyword format/);
    assert.throws(() => typeOf({ anyOf: [] }), /unsupported keyword anyOf/);
    assert.equal(typeOf({ type: 'object', additionalProperties: false }), 'Record<string, never>');
  });

  it('codes match the schemas', () => {
    assert.deepEqual(Object.keys(MESSAGE_CODES).sort(), MESSAGE_SCHEMAS.map((m) => m.name).sort());
    for (const m of MESSAGE_SCHEMAS) assert.equal(MESSAGE_CODES[m.name as keyof MessageBodies], m.code);
  });

  it('a body the types accept (checked by tsc) the schemas accept too, and the other way round', () => {
    const info: InfoBody = { mode: 1, refs: { main: 'a'.repeat(64) }, capabilities: [] };
    const update: UpdateBody = { refs: { main: { from: '0'.repeat(64), to: 'a'.repeat(64) } } };
    assert.doesNotThrow(() => validateBody('INFO', info));
    assert.doesNotThrow(() => validateBody('UPDATE', update));
    // @ts-expect-error 'to' is required by the schema, hence by the type
    const partial: UpdateBody = { refs: { main: { from: '0'.repeat(64) } } };
    assert.throws(() => validateBody('UPDATE', partial), { code: 'PROTOCOL_BAD_MESSAGE' });
  });
});

describe('wire interfaces from schemas', () => {
  const block = (src: string, name: string): string => /export interface \w+ \{[\s\S]*?\n\}/g.exec(src.slice(src.indexOf(`export interface ${name} {`)))?.[0] ?? '';

  it('each message is its required keys in decoded form, plus extra where the schema allows other keys', () => {
    const src = wireTypesSource();
    assert.match(block(src, 'PutObjectMessage'), /object: string;[\s\S]*size: bigint;[\s\S]*extra: Map<string, Variant>;/);
    assert.match(block(src, 'InfoMessage'), /refs: Map<string, string>;/);
    assert.doesNotMatch(block(src, 'InfoMessage'), /capabilities/, 'an optional key stays in extra');
    assert.match(block(src, 'UpdateMessage'), /refs: Map<string, \{ from: string; to: string \}>;/);
    assert.doesNotMatch(block(src, 'UpdateMessage'), /extra/, 'UPDATE allows no other key');
  });

  it('a key added to a schema appears in its interface; a key with no wire type is an error', () => {
    const status = MESSAGE_SCHEMAS.find((m) => m.name === 'STATUS') as MessageSchema;
    const original = status.schema;
    const props = original['properties'] as Record<string, unknown>;
    try {
      status.schema = { ...original, required: [...(original['required'] as string[]), 'code'], properties: { ...props, code: { type: 'integer', 'x-gvariant': 'i' } } };
      assert.match(block(wireTypesSource(), 'StatusMessage'), /code: number;/);
      status.schema = { ...original, required: [...(original['required'] as string[]), 'code'], properties: { ...props, code: { type: 'integer' } } };
      assert.throws(() => wireTypesSource(), /STATUS key 'code' has no wire type/);
    } finally {
      status.schema = original;
    }
  });
});
