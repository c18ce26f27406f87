/**
 * One PUTOBJECT on the receiving side (spec/protocol.md, "Message types";
 * spec/machines/receiver.json guard `objectValid`).
 *
 *   PUTOBJECT { object: s, size: t } + exactly `size` payload bytes
 *
 * Order of checks, each before the next costs anything:
 *   1. the name: `<64 lowercase hex>.<filez|dirtree|dirmeta|commit|commitmeta>`
 *      and nothing else (no path is ever built from an unchecked name); or
 *      a version-0 compatibility file `<64 hex>.sig` / `<64 hex>.sizes2`
 *      (spec/protocol.md section 10), whose payload, once within the object
 *      size limit, is read to the end and discarded: nothing verifies it, so
 *      it is never staged or published, and the answer is STATUS true;
 *   2. the size: at most maxObjectSize, at most maxMetadataSize for metadata;
 *   3. already stored or already staged: the payload is skipped, not staged;
 *   4. the payload is streamed into a staging file and through the verifier
 *      in the same pass; it is kept only if it hashes to its name. A content
 *      object of at most SMALL_CONTENT bytes is verified in memory first and
 *      written afterwards, in the background (receiveSmall).
 *
 * An object refused for its bytes (3, 4) has its payload read to the end,
 * so the stream stays in step (`inStep`) and the session waits for DONE. One
 * refused for its body (1, 2: a bad name or size) is answered with STATUS
 * false and ends the session without touching the payload: its framing can
 * no longer be trusted (spec/protocol.md, "The exchange").
 */
import { type OstreePushError, type ProtocolError, RepoError, asOstreePushError } from '../errors.js';
import { isMetadataType, parseObjectBasename, type ObjectName } from '../repo/object-names.js';
import type { Repo } from '../repo/repo.js';
import type { Staging } from '../repo/staging.js';
import { createVerifyEngine, ONE_SHOT_DEFLATED, type VerifyEngine } from '../repo/verify.js';
import type { PutObjectMessage } from '../wire/messages.js';
import type { Payload } from '../wire/reader.js';

export type ObjectVerdict =
  | { ok: true; object: ObjectName; stored: 'staged' | 'alreadyPresent' }
  /** A version-0 compatibility file: its payload was read and dropped. */
  | { ok: true; stored: 'discarded' }
  /** `inStep` false: the payload was not consumed, the session cannot go on. */
  | { ok: false; error: OstreePushError; inStep: boolean };

/** Whether the store already holds an object (the receiver's step 3). */
export type StoreLookup = (object: ObjectName) => boolean;

/**
 * The repository's lookup for one session (repo/held-objects.ts): for a
 * directory, one that skips the lstat for objects whose fan-out directory
 * (`objects/XX/`) did not exist when the session began, so pushing into a
 * new or sparse repository costs no lookup per object. Only an
 * optimisation: an object another writer stores meanwhile is staged again,
 * and publication finds it present and keeps the stored copy.
 */
export function storeLookup(repo: Repo): StoreLookup {
  return repo.held.sessionLookup();
}

/**
 * Content objects up to this size are verified in memory, then written: the
 * verifier's one-shot bound, so what is held here is what it inflates in one call.
 */
export const SMALL_CONTENT = BigInt(ONE_SHOT_DEFLATED);

export interface ObjectLimits {
  maxObjectSize: bigint;
  maxMetadataSize: number;
}

/**
 * The files the 2015 pusher sends beside a commit when its source holds them
 * (`<commit>.sig`, `<commit>.sizes2`): not ostree objects, and nothing here
 * can verify them, so a receiver drops them (spec/protocol.md section 10).
 */
const COMPAT_FILE = /^[0-9a-f]{64}\.(?:sig|sizes2)$/;

/** True for a version-0 compatibility file name: accepted, read, discarded, never published. */
export function isCompatFileName(name: string): boolean {
  return COMPAT_FILE.test(name);
}

/** The receiver's judgement of one object name; REPO_BAD_OBJECT_NAME for anything but the five push types. */
export function parsePushedName(name: string): ObjectName {
  const o = parseObjectBasename(name, { mode: 'archive' });
  if (o.type === 'tombstone-commit') {
    throw new RepoError('REPO_BAD_OBJECT_NAME', 'invalid object name: tombstone-commit objects are not pushed', { name });
  }
  return o;
}

async function skip(payload: Payload): Promise<void> {
  await payload.skip();
}

/**
 * Judges and, when good, stages one object. Wire errors while reading the
 * payload (truncation, a closed stream) and local failures (disk full) are
 * thrown: the session cannot go on after them.
 */
export async function receiveObject(
  repo: Repo,
  staging: Staging,
  msg: PutObjectMessage,
  payload: Payload,
  limits: ObjectLimits,
  invalid?: ProtocolError,
  inStore: StoreLookup = (o) => repo.held.has(o.checksum, o.type),
): Promise<ObjectVerdict> {
  if (invalid !== undefined) return { ok: false, error: invalid, inStep: false };
  if (isCompatFileName(msg.object)) return discardCompat(msg, payload, limits);
  let object: ObjectName;
  try {
    object = parsePushedName(msg.object);
  } catch (e) {
    return { ok: false, error: asOstreePushError(e), inStep: false };
  }
  const limit = isMetadataType(object.type) ? BigInt(Math.min(limits.maxMetadataSize, Number(limits.maxObjectSize))) : limits.maxObjectSize;
  if (msg.size > limit) {
    const error = new RepoError('REPO_OBJECT_TOO_LARGE', `object ${msg.object} announces ${msg.size} bytes; the limit for a ${object.type} object is ${limit}`, {
      object: msg.object,
      size: String(msg.size),
      max: String(limit),
    });
    return { ok: false, error, inStep: false };
  }

  // Synchronous lstat: a thread-pool hop per object costs more than the look.
  if (staging.has(object.checksum, object.type) || inStore(object)) {
    await skip(payload);
    return { ok: true, object, stored: 'alreadyPresent' };
  }

  if (object.type === 'file' && msg.size <= SMALL_CONTENT) return receiveSmall(staging, object, msg.object, payload);

  const sink = await staging.writeObject(object.checksum, object.type);
  // The verifier's engine is fed directly (no Writable around it): one call per chunk.
  const engine = createVerifyEngine(object, { size: payload.size });
  let bad: unknown;
  try {
    bad = await verifyPayload(engine, payload, async (chunk) => {
      await sink.write(chunk);
      return chunk;
    });
  } catch (e) {
    // Reading the payload or writing the staging file failed: the session cannot go on.
    await sink.abort();
    throw e;
  }
  if (bad !== undefined) {
    await sink.abort();
    await skip(payload);
    return { ok: false, error: named(msg.object, asOstreePushError(bad)), inStep: true };
  }
  await sink.commit();
  return { ok: true, object, stored: 'staged' };
}

/** A compatibility file: within the object size limit, read to the end and dropped. */
async function discardCompat(msg: PutObjectMessage, payload: Payload, limits: ObjectLimits): Promise<ObjectVerdict> {
  if (msg.size > limits.maxObjectSize) {
    const error = new RepoError('REPO_OBJECT_TOO_LARGE', `${msg.object} announces ${msg.size} bytes; the limit is ${limits.maxObjectSize}`, {
      object: msg.object,
      size: String(msg.size),
      max: String(limits.maxObjectSize),
    });
    return { ok: false, error, inStep: false };
  }
  await skip(payload);
  return { ok: true, stored: 'discarded' };
}

/**
 * A small content object (most of a tree) is kept in memory, verified, and
 * only then written, in the background (Staging.stageVerified): a corrupt
 * one never touches the disk, and the file's creation overlaps the answer
 * and the next object.
 */
async function receiveSmall(staging: Staging, object: ObjectName, name: string, payload: Payload): Promise<ObjectVerdict> {
  const engine = createVerifyEngine(object, { size: payload.size });
  const chunks: Uint8Array[] = [];
  const bad = await verifyPayload(engine, payload, (chunk) => {
    // A copy: the chunk is a view into the reader's input buffer.
    const own = Uint8Array.prototype.slice.call(chunk);
    chunks.push(own);
    return own;
  });
  if (bad !== undefined) {
    await skip(payload);
    return { ok: false, error: named(name, asOstreePushError(bad)), inStep: true };
  }
  await staging.stageVerified(object.checksum, object.type, chunks);
  return { ok: true, object, stored: 'staged' };
}

/**
 * Feeds the payload to the verifier, each chunk through `each` first, and
 * finishes it: the verifier's objection, or undefined for a good object.
 * Failures of reading or of `each` are thrown.
 */
async function verifyPayload(engine: VerifyEngine, payload: Payload, each: (chunk: Uint8Array) => Uint8Array | Promise<Uint8Array>): Promise<unknown> {
  for await (const chunk of payload) {
    const c = await each(chunk);
    try {
      await engine.write(c);
    } catch (e) {
      return e;
    }
  }
  try {
    await engine.finish();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** The verifier's objection as a new error of its class and code that names the object; the objection is its cause, unchanged. */
function named(object: string, e: OstreePushError): OstreePushError {
  const message = e.message.includes(object) ? e.message : `object ${object}: ${e.message}`;
  const Kind = e.constructor as new (...args: ConstructorParameters<typeof OstreePushError>) => OstreePushError;
  return new Kind(e.code, message, { ...e.data, object: e.data['object'] ?? object }, { cause: e });
}

