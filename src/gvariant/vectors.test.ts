/**
 * Replays the GLib-generated vectors (conformance/vectors/gvariant*.json)
 * against this codec. Needs only the JSON files, so it runs everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GVariantError } from '../errors.js';
import { decode, encode, type ByteOrder } from './index.js';
import { fromTaggedJSON, toTaggedJSON, type TaggedJSON } from './json.js';

interface Vector { name: string; type: string; order: ByteOrder; hex: string; value: TaggedJSON }
interface Reject { name: string; type: string; order: ByteOrder; hex: string; code: string }

function load<T>(file: string): T[] {
  const doc = JSON.parse(readFileSync(new URL(`../../conformance/vectors/${file}`, import.meta.url), 'utf8')) as { vectors: T[] };
  return doc.vectors;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('gvariant.json: encode gives GLib\'s bytes, decode gives the value', () => {
  const vectors = load<Vector>('gvariant.json');
  assert.ok(vectors.length >= 100, `only ${vectors.length} vectors`);
  for (const v of vectors) {
    const value = fromTaggedJSON(v.type, v.value);
    assert.equal(hex(encode(v.type, value, v.order)), v.hex, v.name);
    assert.deepEqual(toTaggedJSON(v.type, decode(v.type, Buffer.from(v.hex, 'hex'), v.order)), v.value, v.name);
  }
});

test('gvariant-reject.json: each is refused with its code', () => {
  const rejects = load<Reject>('gvariant-reject.json');
  assert.ok(rejects.length >= 50, `only ${rejects.length} rejects`);
  for (const r of rejects) {
    assert.throws(
      () => decode(r.type, Buffer.from(r.hex, 'hex'), r.order),
      (e: unknown) => e instanceof GVariantError && e.code === r.code,
      `${r.name}: expected ${r.code}`,
    );
  }
});
