/**
 * Replays conformance/vectors/messages.json (generated with GLib by
 * gen_messages.py) against the encoders (exact bytes) and the decoders
 * (equal messages), in both byte orders.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WireError } from '../errors.js';
import { needTools } from '../../testkit/tools.js';
import { decodeHeader } from './header.js';
import { messageFromJSON, messageToJSON, type MessageJSON } from './json.js';
import { decodeBody, encodeMessage } from './messages.js';
import { MessageReader } from './reader.js';

const dir = fileURLToPath(new URL('../../conformance/vectors/', import.meta.url));
const file = JSON.parse(readFileSync(`${dir}messages.json`, 'utf8')) as {
  vectors: { name: string; order: 'le' | 'be'; hex: string; message: MessageJSON }[];
};

const rejects = JSON.parse(readFileSync(`${dir}messages-reject.json`, 'utf8')) as {
  vectors: { name: string; hex: string; code: string; key: string | null }[];
};

async function readAllOf(bytes: Uint8Array): Promise<void> {
  async function* one() {
    yield bytes;
  }
  const reader = new MessageReader(one(), { maxPayloadSize: 2n ** 64n });
  for (let r = await reader.next(); r !== null; r = await reader.next()) {
    if (r.payload) await r.payload.skip();
  }
}

describe('message vectors from GLib', () => {
  it('cover every message type in both byte orders', () => {
    const seen = new Set(file.vectors.map((v) => `${v.message.type} ${v.order}`));
    for (const t of ['INFO', 'UPDATE', 'PUTOBJECT', 'STATUS', 'DONE']) {
      for (const o of ['le', 'be']) assert.ok(seen.has(`${t} ${o}`), `${t} ${o}`);
    }
  });

  for (const v of file.vectors) {
    it(v.name, async () => {
      const bytes = new Uint8Array(Buffer.from(v.hex, 'hex'));
      const message = messageFromJSON(v.message);
      assert.equal(Buffer.from(encodeMessage(message, v.order)).toString('hex'), v.hex, 'encoder bytes');
      const header = decodeHeader(bytes);
      assert.equal(header.order, v.order);
      assert.equal(header.length, bytes.length - 5);
      const decoded = decodeBody(header.type, bytes.subarray(5), header.order);
      assert.deepEqual(decoded, message, 'decoded message');
      assert.deepEqual(messageToJSON(decoded), v.message, 'JSON form round trip');
      async function* one() {
        yield bytes;
      }
      const r = (await new MessageReader(one(), { maxPayloadSize: 2n ** 64n }).next())!;
      assert.deepEqual(r.message, message, 'through the reader');
    });
  }

  for (const v of rejects.vectors) {
    it(`refuses ${v.name} with ${v.code}`, async () => {
      await assert.rejects(
        readAllOf(new Uint8Array(Buffer.from(v.hex, 'hex'))),
        (e) => e instanceof WireError && e.code === v.code && (v.key === null || e.data.key === v.key),
      );
    });
  }

  it('are what gen_messages.py produces now', (t) => {
    if (!needTools(t, 'glib')) return;
    const script = `${dir}gen_messages.py`;
    assert.equal(execFileSync('/usr/bin/python3', [script], { encoding: 'utf8' }), readFileSync(`${dir}messages.json`, 'utf8'));
    assert.equal(execFileSync('/usr/bin/python3', [script, 'reject'], { encoding: 'utf8' }), readFileSync(`${dir}messages-reject.json`, 'utf8'));
  });
});
