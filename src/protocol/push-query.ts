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
 *
 * The questions are the pusher session's data (its guard `wantsToAsk`); each
 * ANSWER is taken by the action `learn` (pusher.ts).
 */
import { ProtocolError } from '../errors.js';
import type { AnswerMessage } from '../wire/messages.js';
import type { PlannedObjects } from './planned-objects.js';

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

/** One QUERY: its object names and ref names (one of the two is empty). */
export interface Question {
  objects: string[];
  refs: string[];
}

/** The QUERYs asking about these refs. */
export function refQuestions(names: readonly string[]): Question[] {
  return batches(names).map((refs) => ({ objects: [], refs }));
}

/** The QUERYs asking about these objects. */
export function objectQuestions(objects: PlannedObjects): Question[] {
  return batches(objects.map((o) => o.name)).map((names) => ({ objects: names, refs: [] }));
}

/** PROTOCOL_BAD_MESSAGE unless `a` answers `q`: one `have` per object asked, refs only among those asked. */
export function checkAnswer(q: Question, a: AnswerMessage): void {
  if (a.have.length !== q.objects.length) {
    throw new ProtocolError('PROTOCOL_BAD_MESSAGE', `ANSWER: have lists ${a.have.length} entries for a QUERY of ${q.objects.length} objects`, {
      type: 'ANSWER',
      expected: q.objects.length,
      actual: a.have.length,
    });
  }
  for (const name of a.refs.keys()) {
    if (!q.refs.includes(name)) throw new ProtocolError('PROTOCOL_BAD_MESSAGE', `ANSWER: ref ${name} was not asked about`, { type: 'ANSWER', ref: name });
  }
}
