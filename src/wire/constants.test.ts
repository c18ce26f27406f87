import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MESSAGE_SCHEMAS } from '../../spec/schemas.js';
import { decode, type Variant } from '../gvariant/index.js';
import { BODY_KEYS, MESSAGE_TYPES, type MessageTypeName, OPTIONAL_KEYS } from './constants.js';
import { encodeBody, type Message } from './messages.js';

const samples: Record<MessageTypeName, Message> = {
  INFO: { type: 'INFO', mode: 1, refs: new Map(), extra: new Map() },
  UPDATE: { type: 'UPDATE', refs: new Map([['main', { from: '0'.repeat(64), to: 'a'.repeat(64) }]]) },
  PUTOBJECT: { type: 'PUTOBJECT', object: 'o', size: 1n, extra: new Map() },
  STATUS: { type: 'STATUS', result: true, message: '', extra: new Map() },
  DONE: { type: 'DONE', extra: new Map() },
  QUERY: { type: 'QUERY', objects: [], refs: [], extra: new Map() },
  ANSWER: { type: 'ANSWER', have: [], refs: new Map(), extra: new Map() },
  REPORT: { type: 'REPORT', moved: [], refused: new Map(), extra: new Map() },
};

describe('wire constants', () => {
  it('number the message types as the spec schemas do', () => {
    assert.deepEqual(MESSAGE_TYPES, Object.fromEntries(MESSAGE_SCHEMAS.map((s) => [s.name, s.code])));
  });

  it('list the body keys and variant types the spec schemas annotate', () => {
    for (const s of MESSAGE_SCHEMAS) {
      if (s.name === 'UPDATE') continue; // keys are ref names
      const props = (s.schema['properties'] ?? {}) as Record<string, { 'x-gvariant'?: string }>;
      const required = new Set((s.schema['required'] ?? []) as string[]);
      const annotated = Object.entries(props).filter(([k]) => required.has(k)).map(([k, p]) => [k, p['x-gvariant']]);
      assert.deepEqual(BODY_KEYS[s.name as MessageTypeName], annotated, s.name);
      const optional = Object.entries(props).filter(([k]) => !required.has(k)).map(([k, p]) => [k, p['x-gvariant']]);
      assert.deepEqual(Object.entries((OPTIONAL_KEYS as Record<string, Record<string, string>>)[s.name] ?? {}), optional, `${s.name} optional keys`);
    }
  });

  it('are the keys, types and order the encoders write', () => {
    for (const [name, m] of Object.entries(samples) as [MessageTypeName, Message][]) {
      const body = decode('a{sv}', encodeBody(m)) as Map<string, Variant>;
      const written = [...body].map(([k, v]) => [k, v.type]);
      assert.deepEqual(name === 'UPDATE' ? [] : written, BODY_KEYS[name].map(([k, t]) => [k, t]), name);
    }
  });
});
