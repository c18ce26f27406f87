/**
 * The pusher engine (spec/machines/pusher.json; spec/protocol.md, "Exchange"):
 *
 *   1. read INFO (the remote's mode and refs); only archive mode is served
 *   2. plan (push-plan.ts): per ref new / up to date / fast-forward / rejected,
 *      and the objects the remote lacks, children first
 *   3. nothing to ask for (or --dry-run): DONE, and the session ends
 *   4. UPDATE, await STATUS; then each object as PUTOBJECT + its file's exact
 *      bytes, streamed from disk, each awaiting its STATUS; then DONE
 *   5. a STATUS false stops the push: DONE, and the refusal is reported
 *
 * Version 0 says nothing after DONE: whether the receiver published is only
 * told by its exit status, so refs are reported as pushed only when
 * `remoteExit` resolves to 0 (without `remoteExit`, DONE sent is taken as
 * success: in-process callers learn the receiver's result themselves).
 *
 * Every message goes through the Endpoint runner, so the pusher can only do
 * what its machine allows. Objects are sent by `sendObjects` alone, so that
 * pipelining (several PUTOBJECTs in flight) changes one function.
 */
import type { Readable, Writable } from 'node:stream';
import { OstreePushError, ProtocolError, TransportError, WireError } from '../errors.js';
import { PUSHER } from '../../spec/machine.js';
import type { Repo } from '../repo/repo.js';
import type { ByteOrder } from '../wire/constants.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { Endpoint } from './endpoint.js';
import { ARCHIVE_MODE_NUMBER, localRefs, planPush, type PlannedObject, type PushPlan, type RefStatus } from './push-plan.js';

export type { RefStatus } from './push-plan.js';

export interface PushProgress {
  objectsSent: number;
  objectsTotal: number;
  bytesSent: number;
  bytesTotal: number;
}

export interface PushOptions {
  repo: Repo;
  /** Refs (refs/heads names) to push; default every local ref. */
  refs?: readonly string[];
  /** Ask for non-fast-forward updates too (the receiver may still refuse). */
  force?: boolean;
  /** Read INFO and plan, then send DONE: nothing changes. */
  dryRun?: boolean;
  /** The remote's output (its stdout). */
  input: AsyncIterable<Uint8Array> | Readable;
  /** The remote's input (its stdin); ended when the session ends. */
  output: Writable;
  /** Byte order of everything sent (default 'le'; 'be' exists for testing). */
  order?: ByteOrder;
  onProgress?: (p: PushProgress) => void;
  /** The remote command's exit status; null when killed by a signal. */
  remoteExit?: Promise<number | null>;
  /** Diagnostics for -v. */
  log?: (line: string) => void;
}

export interface RefResult {
  ref: string;
  /** The remote's commit before the push, or 64 zeros. */
  from: string;
  to: string;
  status: RefStatus;
  /** Why it was rejected or refused. */
  reason?: string;
  /** A non-fast-forward asked for with force. */
  forced?: boolean;
}

export interface PushResult {
  refs: RefResult[];
  objectsSent: number;
  bytesSent: number;
  /** Objects planned but not sent (a dry run, or a push stopped by a refusal). */
  objectsSkipped: number;
  /** What the plan said must be sent. */
  objectsTotal: number;
  bytesTotal: number;
  /** Every ref pushed or already up to date. */
  ok: boolean;
  /** Why not ok: PUSH_REJECTED, PROTOCOL_REFUSED or PUSH_REMOTE_FAILED. */
  error?: OstreePushError;
}

/** How long to wait for the remote's exit status when it hung up early, for the message. */
const EXIT_GRACE_MS = 2000;

async function exitWithin(p: Promise<number | null> | undefined, ms: number): Promise<number | null | undefined> {
  if (p === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((res) => {
    timer = setTimeout(() => res(undefined), ms);
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function exitText(code: number | null): string {
  return code === null ? 'the receiver was killed by a signal' : `the receiver exited with status ${code}`;
}

async function closedError(o: PushOptions, state: string, cause?: unknown): Promise<TransportError> {
  const code = await exitWithin(o.remoteExit, EXIT_GRACE_MS);
  return new TransportError('TRANSPORT_CLOSED', `the connection to the receiver closed while ${state}${code === undefined ? '' : ` (${exitText(code)})`}`, {
    state,
    ...(code === undefined ? {} : { remoteExit: code }),
  }, cause === undefined ? {} : { cause });
}

function isLinkFailure(e: unknown): boolean {
  return e instanceof WireError && (e.code === 'WIRE_STREAM_CLOSED' || e.code === 'WIRE_TRUNCATED');
}

/** Sends every planned object, each awaiting its STATUS; stops at the first refusal. */
async function sendObjects(
  ep: Endpoint,
  o: PushOptions,
  plan: PushPlan,
): Promise<{ sent: number; bytes: number; refusal?: string }> {
  let sent = 0;
  let bytes = 0;
  const store = o.repo.objects;
  o.onProgress?.({ objectsSent: 0, objectsTotal: plan.objects.length, bytesSent: 0, bytesTotal: plan.bytes });
  for (const obj of plan.objects) {
    const stream = await store.openRead(obj.checksum, obj.type);
    try {
      await ep.sendPutObject({ object: obj.name, size: BigInt(obj.size) }, stream as AsyncIterable<Uint8Array>, { moreObjects: true });
    } finally {
      (stream as unknown as Readable).destroy?.();
    }
    const st = await ep.receive();
    if (st === null) throw await closedError(o, `awaiting the STATUS for ${obj.name}`);
    if (st.message.type !== 'STATUS') throw new ProtocolError('INTERNAL', 'the machine let a non-STATUS through', {});
    if (!st.message.result) return { sent, bytes, refusal: `${obj.name}: ${st.message.message}` };
    sent++;
    bytes += obj.size;
    o.onProgress?.({ objectsSent: sent, objectsTotal: plan.objects.length, bytesSent: bytes, bytesTotal: plan.bytes });
    o.log?.(`sent ${describe(obj)}`);
  }
  return { sent, bytes };
}

function describe(obj: PlannedObject): string {
  return `${obj.name} (${obj.size} bytes)`;
}

function endOutput(w: Writable): void {
  if (!w.writableEnded && !w.destroyed) w.end();
}

export async function push(o: PushOptions): Promise<PushResult> {
  const reader = new MessageReader(o.input as AsyncIterable<Uint8Array>);
  const writer = new MessageWriter(o.output);
  const ep = new Endpoint(PUSHER, reader, writer, o.order ?? 'le', o.log ? { onStep: (s) => o.log?.(`pusher: ${s.from} --${s.event}--> ${s.to}`) } : {});
  try {
    return await session(ep, o);
  } catch (e) {
    ep.fail();
    endOutput(o.output);
    if (isLinkFailure(e)) throw await closedError(o, `in state ${ep.state}`, e);
    throw e;
  }
}

async function session(ep: Endpoint, o: PushOptions): Promise<PushResult> {
  const local = localRefs(o.repo, o.refs);
  const info = await ep.receive();
  if (info === null) throw await closedError(o, 'waiting for INFO');
  if (info.message.type !== 'INFO') throw new ProtocolError('INTERNAL', 'the machine let a non-INFO through', {});
  if (info.message.mode !== ARCHIVE_MODE_NUMBER) {
    throw new ProtocolError('PUSH_REMOTE_NOT_ARCHIVE', `the remote repository is not in archive mode (mode ${info.message.mode}); only archive repositories can be pushed to`, {
      mode: info.message.mode,
    });
  }
  const plan = await planPush(o.repo, local, info.message.refs, { force: o.force === true });
  const updates = plan.refs.filter((r) => r.action === 'update');
  o.log?.(`plan: ${updates.length} ref(s) to update, ${plan.objects.length} object(s), ${plan.bytes} bytes`);

  const result = (updateStatus: RefStatus, reason?: string, sent = { sent: 0, bytes: 0 }): PushResult => {
    const refs: RefResult[] = plan.refs.map((r) => {
      const s: RefStatus = r.action === 'update' ? updateStatus : r.action;
      const why = s === 'rejected' ? 'non-fast-forward' : s === 'refused' ? reason : undefined;
      return { ref: r.ref, from: r.from, to: r.to, status: s, ...(why === undefined ? {} : { reason: why }), ...(r.forced ? { forced: true } : {}) };
    });
    const ok = refs.every((r) => r.status === 'pushed' || r.status === 'up-to-date');
    const out: PushResult = {
      refs,
      objectsSent: sent.sent,
      bytesSent: sent.bytes,
      objectsSkipped: plan.objects.length - sent.sent,
      objectsTotal: plan.objects.length,
      bytesTotal: plan.bytes,
      ok,
    };
    return out;
  };

  if (updates.length === 0 || o.dryRun === true) {
    await ep.send({ type: 'DONE', extra: new Map() }, { hasUpdates: false });
    endOutput(o.output);
    // A dry run reports what would happen; 'pushed' there means "would be pushed".
    return withRejection(result('pushed'));
  }

  await ep.send({ type: 'UPDATE', refs: new Map(updates.map((r) => [r.ref, { from: r.from, to: r.to }])) }, { hasUpdates: true });
  const st = await ep.receive();
  if (st === null) throw await closedError(o, 'awaiting the STATUS for UPDATE');
  if (st.message.type !== 'STATUS') throw new ProtocolError('INTERNAL', 'the machine let a non-STATUS through', {});
  if (!st.message.result) return refused(ep, o, result, st.message.message, { sent: 0, bytes: 0 });

  const sent = await sendObjects(ep, o, plan);
  if (sent.refusal !== undefined) return refused(ep, o, result, sent.refusal, sent);
  await ep.send({ type: 'DONE', extra: new Map() }, { moreObjects: false });
  endOutput(o.output);

  const code = o.remoteExit === undefined ? 0 : await o.remoteExit;
  if (code !== 0) {
    const reason = `${exitText(code)} after DONE; nothing was published`;
    const r = result('refused', reason, sent);
    r.ok = false;
    r.error = new ProtocolError('PUSH_REMOTE_FAILED', reason, { remoteExit: code });
    return r;
  }
  return withRejection(result('pushed', undefined, sent));
}

async function refused(
  ep: Endpoint,
  o: PushOptions,
  result: (status: RefStatus, reason?: string, sent?: { sent: number; bytes: number }) => PushResult,
  message: string,
  sent: { sent: number; bytes: number },
): Promise<PushResult> {
  await ep.send({ type: 'DONE', extra: new Map() });
  endOutput(o.output);
  // The receiver's exit status adds nothing here, but reaping it keeps callers simple.
  await exitWithin(o.remoteExit, EXIT_GRACE_MS);
  const reason = message === '' ? 'refused by the receiver' : message;
  const r = result('refused', reason, sent);
  r.error = new ProtocolError('PROTOCOL_REFUSED', `the receiver refused the push: ${reason}`, { message });
  return r;
}

function withRejection(r: PushResult): PushResult {
  const rejected = r.refs.filter((x) => x.status === 'rejected').map((x) => x.ref);
  if (rejected.length > 0 && r.error === undefined) {
    r.error = new ProtocolError('PUSH_REJECTED', `rejected (non-fast-forward): ${rejected.join(', ')}; use --force to push anyway`, { refs: rejected });
  }
  return r;
}
