/**
 * The pusher engine (spec/machines/pusher.json; spec/protocol.md, "Exchange"
 * and section 12, "Extensions"):
 *
 *   1. read INFO (the remote's mode, refs and capabilities); only archive
 *      mode is served, and only its heads count (remote refs it lists, such
 *      as `origin:stable`, are left out: push-plan.ts `remoteHeads`)
 *   2. with `query` offered: ask for the refs a truncated INFO left out
 *   3. plan (push-plan.ts): per ref new / up to date / fast-forward / rejected,
 *      and the objects the remote lacks, children first; with `query`
 *      offered, ask the receiver's store and drop what it holds (push-query.ts)
 *   4. nothing to ask for (or --dry-run): DONE, and the session ends
 *   5. UPDATE, await STATUS; then the objects as PUTOBJECT + their files'
 *      exact bytes, pipelined with a bounded window (push-pipeline.ts); DONE
 *   6. a STATUS false stops the push: the replies still owed are read, DONE,
 *      and the refusal is reported
 *   7. with `report` offered, DONE asks for a REPORT and each ref's result is
 *      taken from it; without, the remote's exit status decides (version 0
 *      says nothing after DONE): refs are reported pushed only when
 *      `remoteExit` resolves to 0 (without `remoteExit`, DONE sent is taken
 *      as success: in-process callers learn the receiver's result themselves).
 *
 * Against a receiver without capabilities this is plain version 0 on the
 * wire; pipelining is safe there (spec/protocol.md section 12.2).
 */
import type { Readable, Writable } from 'node:stream';
import { OstreePushError, ProtocolError, TransportError, WireError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { PUSHER } from '../../spec/machine.js';
import type { PusherNames } from '../../spec/machines.generated.js';
import { repoModeOfNumber, type Repo } from '../repo/repo.js';
import type { ByteOrder } from '../wire/constants.js';
import type { AnswerMessage, InfoMessage, ReportMessage } from '../wire/messages.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import type { ActionHandlers, GuardTable } from './actor.js';
import { capabilitiesOf, Endpoint } from './endpoint.js';
import { DEFAULT_PUSH_IDLE_TIMEOUT_MS, idleLimited } from './idle.js';
import { PIPELINE_GUARDS, PIPELINE_HANDLERS, Pipeline, type Sending } from './push-pipeline.js';
import { refusalJudge, remotePolicyOf } from './push-policy.js';
import { checkAnswer, objectQuestions, type Question, refQuestions } from './push-query.js';
import type { InfoPolicy } from '../policy/info-policy.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import { PlannedObjects } from './planned-objects.js';
import { ARCHIVE_MODE_NUMBER, resolveRefspecs, NON_FAST_FORWARD, plannedCommit, planPush, remoteHeads, remoteRefFallback, type PlannedObject, type LocalRefs, type PushPlan, type RefPlan, type RefStatus } from './push-plan.js';

export type { RefStatus } from './push-plan.js';

export interface PushProgress {
  objectsSent: number;
  objectsTotal: number;
  bytesSent: number;
  bytesTotal: number;
}

export interface PushOptions {
  repo: Repo;
  /** Refspecs to push (push-plan.ts: REF, SRC:DST, +SRC:DST); default every local ref. */
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
  /**
   * A fixed number of PUTOBJECTs in flight at most (1 is version 0's
   * stop-and-wait). Default: adaptive, sized to the bandwidth-delay product
   * from 64 up to 4,096 (push-window.ts).
   */
  window?: number;
  /** A fixed bound on payload bytes in flight (one object always goes). Default: adaptive, from 8 up to 64 MiB. */
  windowBytes?: number;
  /** Use the extensions a receiver offers (default true); false speaks plain version 0. */
  extensions?: boolean;
  /**
   * Give up (TRANSPORT_IDLE_TIMEOUT) when, while the push waits for the
   * receiver, it neither sends a byte nor takes one of ours for this long
   * (default 60 s; idle.ts). A stalled link otherwise hangs the push forever.
   */
  idleTimeoutMs?: number;
  /**
   * The same limit for the REPORT after DONE, where the receiver publishes
   * and then runs its update hook (up to 10 minutes) before it answers:
   * default the larger of the idle timeout and 15 minutes.
   */
  reportTimeoutMs?: number;
  /**
   * Opens a second session to the same receiver. When the first one is lost
   * after DONE (or, without a REPORT, the receiver exits non-zero), the
   * pusher cannot know whether the refs moved: it reads INFO in a second
   * session (sending only DONE) and reports what the remote's refs are.
   * Without it, such a push is reported as failed.
   */
  reconnect?: () => Promise<SecondSession>;
}

/** A second session's streams; `close` ends it (waits for the receiver). */
export interface SecondSession {
  input: AsyncIterable<Uint8Array> | Readable;
  output: Writable;
  close?: () => Promise<void>;
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
  /** The local name or checksum pushed as `ref`, when not `ref` itself (SRC:DST). */
  src?: string;
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
  /** Planned objects the receiver's store already held (extension `query`); not sent. */
  objectsKnownRemote: number;
  /** Most PUTOBJECTs unanswered at once. */
  maxInFlight: number;
  /** The extensions used in this session. */
  extensions: string[];
  /** Whether the refs' results came from a REPORT (else from the exit status). */
  reported: boolean;
  /** What the receiver said it will refuse (INFO `policy`, section 12.6); absent when it said nothing. */
  remotePolicy?: InfoPolicy;
  /**
   * The first session was lost after DONE and a second one read the remote's
   * refs: why, and what they showed. Each ref's status then says pushed,
   * not-pushed or unknown.
   */
  checkedAfterLoss?: { reason: string; outcome: 'pushed' | 'not-pushed' | 'partly' | 'unknown' };
}

export { remotePolicyOf } from './push-policy.js';

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

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
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

function describe(obj: PlannedObject): string {
  return `${obj.name} (${obj.size} bytes)`;
}

function endOutput(w: Writable): void {
  if (!w.writableEnded && !w.destroyed) w.end();
}

export { DEFAULT_PUSH_IDLE_TIMEOUT_MS } from './idle.js';
/** The least wait for the REPORT after DONE: publication, then an update hook of up to 10 minutes. */
export const DEFAULT_REPORT_TIMEOUT_MS = 15 * 60_000;

/**
 * One pushing session: the data the pusher's machine is judged and acted on
 * (its guards and action handlers are the tables below), and what INFO, the
 * ANSWERs, the STATUS replies and the REPORT taught it.
 */
class PushSession implements Sending {
  readonly ep: Endpoint<PusherNames, PushSession>;
  /** DST → commit to push (the refspecs resolved). */
  readonly local: Map<string, string>;
  /** The refspecs' `+` and SRC names (push-plan.ts). */
  readonly named: LocalRefs;
  readonly pipeline: Pipeline;
  /** How refs absent from INFO's heads may be found among its remote refs (push-plan.ts). */
  #viaRemotes: ReturnType<typeof remoteRefFallback> | undefined;
  /** The capabilities used (none with the extensions off). */
  offered = new Set<string>();
  /** The extensions used in this session. */
  readonly used: string[] = [];
  /** The remote's heads, as INFO and ANSWERs say. */
  remote = new Map<string, string>();
  remotePolicy: InfoPolicy | undefined;
  truncated = false;
  #plan: PushPlan | undefined;
  /** Planned objects the receiver's store holds (ANSWER `have`). */
  readonly held = new Set<string>();
  /** The QUERYs still to send; the first is the one in flight while awaiting its ANSWER. */
  questions: Question[] = [];
  #askedRefs = 0;
  #objectQueries = 0;
  /** The REPORT, once read and checked against the UPDATE. */
  report: ReportMessage | undefined;

  constructor(
    readonly o: PushOptions,
    reader: MessageReader,
    writer: MessageWriter,
  ) {
    this.named = resolveRefspecs(o.repo, o.refs);
    this.local = this.named.refs;
    const store = o.repo.objects;
    this.pipeline = new Pipeline({
      window: o.window,
      windowBytes: o.windowBytes,
      // The plan's size saves an fstat per object; a file that changed since is REPO_CORRUPT_OBJECT.
      openRead: (obj) => store.openReader(obj.checksum, obj.type, obj.size),
      onAnswered: (obj, sent, bytes) => {
        o.onProgress?.({ objectsSent: sent, objectsTotal: this.plan.objects.length, bytesSent: bytes, bytesTotal: this.plan.bytes });
        o.log?.(`sent ${describe(obj)}`);
      },
      closed: (what) => closedError(o, what),
      abort: () => {
        if (!o.output.destroyed) o.output.destroy();
      },
    });
    const onStep = o.log ? { onStep: (s: { from: string; event: string; to: string }) => o.log?.(`pusher: ${s.from} --${s.event}--> ${s.to}`) } : {};
    this.ep = new Endpoint(PUSHER, { reader, writer, order: o.order ?? 'le' }, { data: this as PushSession, handlers: HANDLERS, guards: GUARDS }, onStep);
  }

  /** The plan, made once the remote's refs are known (after INFO, or after the ANSWERs about the refs it left out). */
  get plan(): PushPlan {
    if (this.#plan === undefined) throw new ProtocolError('INTERNAL', 'the push was not planned yet', {});
    return this.#plan;
  }

  get updates(): RefPlan[] {
    return this.plan.refs.filter((r) => r.action === 'update');
  }

  /** hasUpdates: a ref to move, and not a dry run. */
  get hasUpdates(): boolean {
    return this.updates.length > 0 && this.o.dryRun !== true;
  }

  /** plan: INFO's mode, capabilities and refs; then the plan, unless refs INFO left out must be asked about first. */
  async readInfo(info: InfoMessage): Promise<void> {
    const { o } = this;
    if (info.mode !== ARCHIVE_MODE_NUMBER) {
      const name = repoModeOfNumber(info.mode);
      const what = name === undefined ? `in an unknown mode (${info.mode})` : `a ${name} repository`;
      throw new ProtocolError('PUSH_REMOTE_NOT_ARCHIVE', `the remote repository is ${what}, not archive; only archive repositories can be pushed to (ostree init --mode=archive)`, {
        mode: info.mode,
        modeName: name ?? 'unknown',
      });
    }
    this.offered = o.extensions === false ? new Set<string>() : capabilitiesOf(info);
    const deletions = [...this.local].filter(([, c]) => c === ZERO_CHECKSUM).map(([r]) => r);
    if (deletions.length > 0 && !this.offered.has('delete')) {
      // A version-0 receiver would take 64 zeros as a commit (spec/protocol.md 12.7): never sent one.
      throw new ProtocolError('PUSH_DELETE_UNSUPPORTED', `cannot delete ${deletions.join(', ')}: the receiver does not offer deleting refs (no 'delete' capability); nothing was sent`, { refs: deletions });
    }
    this.remote = remoteHeads(info.refs);
    if (this.remote.size < info.refs.size) o.log?.(`INFO lists ${info.refs.size - this.remote.size} name(s) that are not heads (remote refs such as origin:stable); planning against the heads only`);
    this.remotePolicy = o.extensions === false ? undefined : remotePolicyOf(info.extra);
    this.truncated = info.extra.get('refs-truncated')?.value === true;
    this.#viaRemotes = remoteRefFallback(info.refs);
    if (this.truncated && this.offered.has('query')) {
      const missing = [...this.local.keys()].filter((r) => !this.remote.has(r));
      if (missing.length > 0) {
        this.questions = refQuestions(missing);
        this.#askedRefs = missing.length;
        return;
      }
    } else if (this.truncated) {
      o.log?.('the receiver listed only part of its refs; a ref it left out will be refused if it exists there');
    }
    await this.makePlan();
  }

  /** learn: the refs the ANSWER names join the remote's (then the plan is made); the objects it holds leave the plan. */
  async learn(answer: AnswerMessage): Promise<void> {
    // The machine takes an ANSWER only after a QUERY, which asked questions[0].
    const q = this.questions.shift() as Question;
    checkAnswer(q, answer);
    for (const [k, v] of answer.refs) this.remote.set(k, v);
    q.objects.forEach((name, i) => {
      if (answer.have[i] === true) this.held.add(name);
    });
    if (this.questions.length > 0) return;
    if (q.refs.length > 0) {
      this.used.push('query');
      this.o.log?.(`asked about ${this.#askedRefs} ref(s) INFO left out`);
      await this.makePlan();
    } else {
      this.dropHeld();
    }
  }

  /** The plan against the remote's refs as known; with `query` offered, the QUERYs about its objects. */
  async makePlan(): Promise<void> {
    const { o } = this;
    const viaRemotes = this.#viaRemotes ?? remoteRefFallback(new Map());
    for (const [ref, names] of viaRemotes.ambiguous) {
      if (this.local.has(ref) && !this.remote.has(ref)) o.log?.(`${ref}: the remote's remotes name different commits (${names.join(', ')}); sending 64 zeros as 'from', which it may refuse`);
    }
    // Refs the receiver will certainly refuse are rejected here, before UPDATE (push-policy.ts).
    this.#plan = await planPush(o.repo, this.local, this.remote, { force: o.force === true, forceRefs: this.named.forced, sources: this.named.sources, fallbackFrom: viaRemotes.from, judge: refusalJudge(o.repo, this.remotePolicy), recommits: this.remotePolicy?.recommit === true });
    const plan = this.#plan;
    // An empty remote (no refs at all) holds nothing worth asking about in practice.
    if (this.offered.has('query') && this.updates.length > 0 && plan.objects.length > 0 && (this.remote.size > 0 || this.truncated) && o.dryRun !== true) {
      this.questions = objectQuestions(plan.objects);
      this.#objectQueries = this.questions.length;
      return;
    }
    this.finishPlan();
  }

  /** The objects the receiver said it holds leave the plan. */
  dropHeld(): void {
    const plan = this.plan;
    plan.objects = plan.objects.filter((x) => !this.held.has(x.name));
    plan.bytes = plan.objects.bytes;
    if (!this.used.includes('query')) this.used.push('query');
    this.o.log?.(`the receiver already holds ${this.held.size} of the planned objects (${this.#objectQueries} QUERY)`);
    this.finishPlan();
  }

  finishPlan(): void {
    const { o, plan, updates } = this;
    if (this.offered.size === 0 && updates.length > 0 && plan.objects.length === 0) {
      // A version-0 receiver of 2015 moves no ref unless it received an object (spec/protocol.md section 10).
      const commit = plannedCommit(o.repo, (updates[0] as RefPlan).to);
      plan.objects = PlannedObjects.of([commit]);
      plan.bytes = commit.size;
      o.log?.(`nothing to send but the receiver is plain version 0: sending ${commit.name} so that it writes the refs`);
    }
    o.log?.(`plan: ${updates.length} ref(s) to update, ${plan.objects.length} object(s), ${plan.bytes} bytes`);
  }

  /** reportResult: the REPORT must name exactly the refs of the UPDATE. */
  takeReport(report: ReportMessage): void {
    const asked = this.updates.map((u) => u.ref);
    const named = [...report.moved, ...report.refused.keys()];
    if (named.length !== asked.length || !asked.every((r) => named.includes(r))) {
      throw new ProtocolError('PROTOCOL_BAD_MESSAGE', `REPORT: names ${named.join(', ') || 'no ref'}, but the UPDATE asked for ${asked.join(', ')}`, { type: 'REPORT' });
    }
    this.report = report;
  }

  /** Each ref's result, with `status` for the refs of the UPDATE. */
  result(updateStatus: RefStatus, reason?: string, sent: Sent = { sent: 0, bytes: 0 }): PushResult {
    const plan = this.plan;
    const refs: RefResult[] = plan.refs.map((r) => {
      const s: RefStatus = r.action === 'update' ? updateStatus : r.action;
      const why = s === 'rejected' ? (r.reason ?? NON_FAST_FORWARD) : s === 'refused' ? reason : undefined;
      return { ref: r.ref, from: r.from, to: r.to, status: s, ...(why === undefined ? {} : { reason: why }), ...(r.forced ? { forced: true } : {}), ...(r.src === undefined ? {} : { src: r.src }) };
    });
    const ok = refs.every((r) => r.status === 'pushed' || r.status === 'up-to-date');
    return {
      refs,
      objectsSent: sent.sent,
      bytesSent: sent.bytes,
      objectsSkipped: plan.objects.length - sent.sent,
      objectsTotal: plan.objects.length,
      bytesTotal: plan.bytes,
      ok,
      objectsKnownRemote: this.held.size,
      maxInFlight: sent.maxInFlight ?? 0,
      extensions: this.used,
      reported: false,
      ...(this.remotePolicy === undefined ? {} : { remotePolicy: this.remotePolicy }),
    };
  }
}

/** The pusher's judgement, one function per local guard of spec/machines/pusher.json. */
const GUARDS: GuardTable<PusherNames, PushSession> = {
  wantsToAsk: (s) => s.questions.length > 0,
  hasUpdates: (s) => s.hasUpdates,
  ...PIPELINE_GUARDS,
};

/** One handler per action of spec/machines/pusher.json. */
const HANDLERS: ActionHandlers<PusherNames, PushSession> = {
  // The machine's context records what INFO offered; the session reads it from INFO (`offered`).
  enableQuery: () => undefined,
  enableReport: () => undefined,
  plan: (s, { message }) => s.readInfo(message),
  learn: (s, { message }) => s.learn(message),
  reportResult: (s, { message }) => s.takeReport(message),
  ...PIPELINE_HANDLERS,
};

export async function push(o: PushOptions): Promise<PushResult> {
  const writer = new MessageWriter(o.output);
  const ms = o.idleTimeoutMs ?? DEFAULT_PUSH_IDLE_TIMEOUT_MS;
  const reportMs = o.reportTimeoutMs ?? Math.max(ms, DEFAULT_REPORT_TIMEOUT_MS);
  let limit = ms;
  const input = idleLimited(o.input as AsyncIterable<Uint8Array>, () => limit, {
    error: (t) =>
      limit === reportMs && limit !== ms
        ? new TransportError('TRANSPORT_IDLE_TIMEOUT', `the receiver sent no REPORT for ${seconds(t)} after DONE; giving up (it may have published: check the remote's refs)`, { ms: t, afterDone: true })
        : new TransportError('TRANSPORT_IDLE_TIMEOUT', `the receiver sent nothing and took nothing for ${seconds(t)} while the push waited for it; giving up`, { ms: t }),
    // Our bytes the receiver has taken (written minus still buffered): it is alive, reading a large object.
    progress: () => writer.bytesWritten - o.output.writableLength,
  });
  let s: PushSession;
  try {
    s = new PushSession(o, new MessageReader(input), writer);
  } catch (e) {
    // A ref to push that does not exist: nothing was said, the remote's input just ends.
    endOutput(o.output);
    throw e;
  }
  const after: AfterDone = {};
  try {
    return await session(s, () => (limit = reportMs), after);
  } catch (e) {
    await s.ep.fail();
    endOutput(o.output);
    const closed = isLinkFailure(e) ? await closedError(o, `in state ${s.ep.state}`, e) : e;
    // DONE may have reached the receiver: whatever broke since (the link, a garbled answer), whether
    // the refs moved is a question for the remote.
    if (after.check !== undefined && closed instanceof OstreePushError) return await after.check(closed);
    throw closed;
  }
}

/** Set once DONE with updates may have been sent: how to find out what happened. */
interface AfterDone {
  check?: (why: OstreePushError) => Promise<PushResult>;
}

type Sent = { sent: number; bytes: number; maxInFlight?: number };

/** `awaitingReport`: DONE asked for a REPORT; the wait for it may be longer. */
async function session(s: PushSession, awaitingReport: () => void, after: AfterDone): Promise<PushResult> {
  const { ep, o } = s;
  if ((await ep.receive()) === null) throw await closedError(o, 'waiting for INFO');
  while (s.questions.length > 0) {
    const q = s.questions[0] as Question;
    await ep.send({ type: 'QUERY', objects: q.objects, refs: q.refs, extra: new Map() });
    if ((await ep.receive()) === null) throw await closedError(o, 'awaiting an ANSWER');
  }

  if (!s.hasUpdates) {
    await ep.send({ type: 'DONE', extra: new Map() });
    endOutput(o.output);
    // A dry run reports what would happen; 'pushed' there means "would be pushed".
    return withRejection(s.result('pushed'));
  }

  const updates = s.updates;
  await ep.send({ type: 'UPDATE', refs: new Map(updates.map((r) => [r.ref, { from: r.from, to: r.to }])) });
  if ((await ep.receive()) === null) throw await closedError(o, 'awaiting the STATUS for UPDATE');
  if (s.pipeline.refusal !== undefined) return refused(s, s.pipeline.refusal, { sent: 0, bytes: 0 });

  const plan = s.plan;
  o.onProgress?.({ objectsSent: 0, objectsTotal: plan.objects.length, bytesSent: 0, bytesTotal: plan.bytes });
  const sent = await s.pipeline.run(ep, plan.objects);
  const w = s.pipeline.window;
  if (w.adaptive && Number.isFinite(w.minRtt)) o.log?.(`window: up to ${w.maxObjects} objects and ${w.maxBytes} bytes; least round trip ${w.minRtt.toFixed(1)} ms`);
  if (sent.refusal !== undefined) return refused(s, sent.refusal, sent);
  const wantReport = s.offered.has('report');
  if (o.reconnect !== undefined) {
    const reconnect = o.reconnect;
    after.check = (why) => checkAfterLoss(o, reconnect, s, updates, sent, why);
  }
  await ep.send({ type: 'DONE', extra: wantReport ? new Map([['report', new Variant('b', true)]]) : new Map() });
  if (wantReport) {
    s.used.push('report');
    awaitingReport();
    return reported(s, sent);
  }
  endOutput(o.output);

  const code = o.remoteExit === undefined ? 0 : await o.remoteExit;
  if (code !== 0 && after.check !== undefined) {
    // Version 0 says nothing after DONE: a receiver that failed may have failed after moving the refs.
    return await after.check(new ProtocolError('PUSH_REMOTE_FAILED', `${exitText(code)} after DONE`, { remoteExit: code }));
  }
  if (code !== 0) {
    const reason = `${exitText(code)} after DONE; nothing was published`;
    const r = s.result('refused', reason, sent);
    r.ok = false;
    r.error = new ProtocolError('PUSH_REMOTE_FAILED', reason, { remoteExit: code });
    return r;
  }
  return withRejection(s.result('pushed', undefined, sent));
}

/** The REPORT after DONE decides each ref's result (extension `report`). */
async function reported(s: PushSession, sent: Sent): Promise<PushResult> {
  const { o } = s;
  const rep = await s.ep.receive();
  endOutput(o.output);
  if (rep === null) throw await closedError(o, 'awaiting the REPORT after DONE');
  const no = (s.report as ReportMessage).refused;
  // Its exit status adds nothing now, but reaping it keeps callers simple.
  await exitWithin(o.remoteExit, EXIT_GRACE_MS);
  const r = s.result('pushed', undefined, sent);
  r.reported = true;
  for (const x of r.refs) {
    const why = no.get(x.ref);
    if (why !== undefined) {
      x.status = 'refused';
      x.reason = why === '' ? 'refused by the receiver' : why;
    }
  }
  if (no.size > 0) {
    r.ok = false;
    const first = [...no][0] as [string, string];
    r.error = new ProtocolError('PROTOCOL_REFUSED', `the receiver refused ${[...no.keys()].join(', ')}: ${first[1]}`, { refused: Object.fromEntries(no) });
    return r;
  }
  return withRejection(r);
}

async function refused(s: PushSession, message: string, sent: Sent): Promise<PushResult> {
  const { ep, o } = s;
  // A receiver that hung up after refusing leaves the machine in 'rejected' already.
  if (!ep.finished) await ep.send({ type: 'DONE', extra: new Map() });
  endOutput(o.output);
  // The receiver's exit status adds nothing here, but reaping it keeps callers simple.
  await exitWithin(o.remoteExit, EXIT_GRACE_MS);
  const reason = message === '' ? 'refused by the receiver' : message;
  const r = s.result('refused', reason, sent);
  r.error = new ProtocolError('PROTOCOL_REFUSED', `the receiver refused the push: ${reason}`, { message });
  return r;
}

const short = (c: string): string => c.slice(0, 12);

/** How long a push lost after DONE waits for the first receiver to end before asking a second one. */
const AFTER_LOSS_WAIT_MS = 30_000;

async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((res) => {
        timer = setTimeout(() => res(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A second session only reads INFO's refs, then says DONE. */
interface RefsRead {
  info?: InfoMessage;
}

const notInThisSession = (): never => {
  throw new ProtocolError('INTERNAL', 'a session reading the refs sends nothing but DONE', {});
};

/** The second session's handlers: INFO is kept; nothing else happens before DONE. */
const READ_REFS: ActionHandlers<PusherNames, RefsRead> = {
  enableQuery: () => undefined,
  enableReport: () => undefined,
  plan: (d, { message }) => {
    d.info = message;
  },
  learn: notInThisSession,
  sendPayload: notInThisSession,
  countSent: notInThisSession,
  countAnswered: notInThisSession,
  reportRefusal: notInThisSession,
  reportResult: notInThisSession,
};

/** It has nothing to push: it asks nothing, updates nothing, sends no object. */
const READ_REFS_GUARDS: GuardTable<PusherNames, RefsRead> = {
  wantsToAsk: () => false,
  hasUpdates: () => false,
  moreObjects: () => false,
  windowOpen: () => false,
};

/**
 * The first session ended after DONE without saying whether the refs moved:
 * a second session reads INFO (and sends only DONE), and each ref is
 * reported as the remote has it: pushed (at the new commit), not-pushed
 * (anything else), unknown (no second session, or INFO left the ref out).
 */
async function checkAfterLoss(
  o: PushOptions,
  reconnect: () => Promise<SecondSession>,
  first: PushSession,
  updates: readonly { ref: string; to: string }[],
  sent: Sent,
  why: OstreePushError,
): Promise<PushResult> {
  // The first receiver may still be publishing: wait for it to end before asking. A ref not yet
  // moved is "not pushed" only when that receiver is known to be gone; else it is unknown.
  const firstGone = o.remoteExit === undefined || (await settledWithin(o.remoteExit, AFTER_LOSS_WAIT_MS));
  o.log?.(`${why.message}; reading the remote's refs in a second session`);
  let remote: Map<string, string> | undefined;
  let truncated = false;
  let failure: OstreePushError | undefined;
  try {
    const link = await reconnect();
    try {
      const wire = { reader: new MessageReader(link.input as AsyncIterable<Uint8Array>), writer: new MessageWriter(link.output), order: o.order ?? 'le' };
      const read: RefsRead = {};
      const ep = new Endpoint(PUSHER, wire, { data: read, handlers: READ_REFS, guards: READ_REFS_GUARDS });
      if ((await ep.receive()) === null || read.info === undefined) throw new TransportError('TRANSPORT_CLOSED', 'the second session closed before INFO', {});
      remote = remoteHeads(new Map(read.info.refs));
      truncated = read.info.extra.get('refs-truncated')?.value === true;
      await ep.send({ type: 'DONE', extra: new Map() });
    } finally {
      endOutput(link.output);
      await link.close?.();
    }
  } catch (e) {
    failure = e instanceof OstreePushError ? e : new TransportError('TRANSPORT_CLOSED', e instanceof Error ? e.message : String(e), {});
  }
  const r = first.result('pushed', undefined, sent);
  let pushed = 0;
  let unknown = 0;
  for (const x of r.refs) {
    if (!updates.some((u) => u.ref === x.ref)) continue;
    const actual = remote?.get(x.ref) ?? (remote === undefined || truncated ? undefined : ZERO_CHECKSUM);
    if (actual === x.to) {
      pushed++;
    } else if (actual === undefined || !firstGone) {
      unknown++;
      x.status = 'unknown';
      x.reason =
        failure !== undefined
          ? `the connection was lost after DONE and the remote's refs could not be read: ${failure.message}`
          : actual === undefined
            ? 'the connection was lost after DONE and the remote did not list this ref'
            : 'the connection was lost after DONE and the first receiver had not ended; it may still move this ref';
    } else {
      x.status = 'not-pushed';
      x.reason = `the connection was lost after DONE; the remote's ref is at ${actual === ZERO_CHECKSUM ? 'nothing' : short(actual)}`;
    }
  }
  const outcome = unknown > 0 ? 'unknown' : pushed === updates.length ? 'pushed' : pushed === 0 ? 'not-pushed' : 'partly';
  r.checkedAfterLoss = { reason: why.message, outcome };
  r.ok = r.refs.every((x) => x.status === 'pushed' || x.status === 'up-to-date');
  if (outcome === 'pushed') return withRejection(r);
  if (outcome === 'unknown') {
    const names = r.refs.filter((x) => x.status === 'unknown').map((x) => x.ref);
    const because = failure?.message ?? (firstGone ? 'the remote did not list them' : 'the first receiver had not ended');
    r.error = new ProtocolError('PUSH_OUTCOME_UNKNOWN', `${why.message}; whether ${names.join(', ')} moved is unknown: ${because}; check the remote's refs`, { refs: names });
    return r;
  }
  const not = r.refs.filter((x) => x.status === 'not-pushed').map((x) => x.ref);
  const text = `${why.message}; a second session shows ${not.join(', ')} not pushed${outcome === 'partly' ? ' (the other refs were)' : ''}`;
  r.error = why instanceof TransportError ? new TransportError(why.code, text, why.data, { cause: why }) : new ProtocolError(why.code, text, why.data, { cause: why });
  return r;
}

function withRejection(r: PushResult): PushResult {
  const rejected = r.refs.filter((x) => x.status === 'rejected');
  if (rejected.length === 0 || r.error !== undefined) return r;
  const refs = rejected.map((x) => x.ref);
  const reasons = Object.fromEntries(rejected.map((x) => [x.ref, x.reason ?? NON_FAST_FORWARD]));
  // Only a plain non-fast-forward is helped by --force; the other reasons are the receiver's
  // advertised policy or the commit's bindings, each given once, on its ref's line.
  const plain = rejected.every((x) => (x.reason ?? NON_FAST_FORWARD) === NON_FAST_FORWARD);
  const nonFastForward = rejected.some((x) => (x.reason ?? NON_FAST_FORWARD).startsWith(NON_FAST_FORWARD));
  r.error = new ProtocolError(
    'PUSH_REJECTED',
    plain
      ? `rejected (non-fast-forward): ${refs.join(', ')}; pull the remote's commit and build on it, or push with --force if the remote allows replacing it`
      : `rejected before sending, as the remote would refuse them: ${refs.join(', ')}${nonFastForward ? "; for a non-fast-forward, pull the remote's commit and build on it" : ''}`,
    { refs, reasons },
  );
  return r;
}
