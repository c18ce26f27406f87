/**
 * The pusher's side of the `query` extension (spec/protocol.md section 12.3;
 * spec/machines/pusher.json, states haveInfo/awaitAnswer): QUERY batches of
 * at most 800 names, each answered by one ANSWER before the next is sent.
 *
 *   - refs: the local refs to push that a truncated INFO left out; ANSWER
 *     names those that exist, so `from` in UPDATE is right;
 *   - objects: every planned object; ANSWER says which the receiver's store
 *     holds, and those are not sent. A "have" is a hint: the receiver's
 *     closure check at DONE still decides, so a wrong answer can only make
 *     the push fail, never publish an incomplete commit.
 */
import { ProtocolError } from '../errors.js';
import type { Endpoint } from './endpoint.js';
import type { PlannedObject } from './push-plan.js';

/** Names per QUERY: 800 object names (~75 bytes each with offsets) fit one 65,535-byte body. */
export const QUERY_BATCH = 800;
/** Ref names are up to 1024 characters: batches are also bounded by bytes. */
const QUERY_BYTES = 60_000;

function batches(names: readonly string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let size = 0;
  for (const n of names) {
    const cost = Buffer.byteLength(n) + 1 + 4;
    if (cur.length > 0 && (cur.length >= QUERY_BATCH || size + cost > QUERY_BYTES)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(n);
    size += cost;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function ask(ep: Endpoint, objects: string[], refs: string[], closed: (what: string) => Promise<Error>) {
  await ep.send({ type: 'QUERY', objects, refs, extra: new Map() }, { wantsToAsk: true });
  const r = await ep.receive();
  if (r === null) throw await closed('awaiting an ANSWER');
  if (r.message.type !== 'ANSWER') throw new ProtocolError('INTERNAL', 'the machine let a non-ANSWER through', {});
  if (r.message.have.length !== objects.length) {
    throw new ProtocolError('PROTOCOL_BAD_MESSAGE', `ANSWER: have lists ${r.message.have.length} entries for a QUERY of ${objects.length} objects`, {
      type: 'ANSWER',
      expected: objects.length,
      actual: r.message.have.length,
    });
  }
  for (const name of r.message.refs.keys()) {
    if (!refs.includes(name)) throw new ProtocolError('PROTOCOL_BAD_MESSAGE', `ANSWER: ref ${name} was not asked about`, { type: 'ANSWER', ref: name });
  }
  return r.message;
}

/** The named refs the receiver has, name → commit. */
export async function queryRefs(ep: Endpoint, names: readonly string[], closed: (what: string) => Promise<Error>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const batch of batches(names)) {
    const a = await ask(ep, [], batch, closed);
    for (const [k, v] of a.refs) out.set(k, v);
  }
  return out;
}

/** The planned objects minus those the receiver's store says it holds. */
export async function queryObjects(
  ep: Endpoint,
  objects: readonly PlannedObject[],
  closed: (what: string) => Promise<Error>,
): Promise<{ objects: PlannedObject[]; known: number; queries: number }> {
  const held = new Set<string>();
  const all = batches(objects.map((o) => o.name));
  for (const batch of all) {
    const a = await ask(ep, batch, [], closed);
    batch.forEach((name, i) => {
      if (a.have[i] === true) held.add(name);
    });
  }
  return { objects: objects.filter((o) => !held.has(o.name)), known: held.size, queries: all.length };
}
