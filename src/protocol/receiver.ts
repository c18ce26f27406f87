/**
 * The receiving engine of protocol version 0 (spec/protocol.md, "Exchange";
 * spec/machines/receiver.json), stop-and-wait:
 *
 *   1. send INFO at once: the repository's mode number and its refs/heads
 *      refs (those that fit one body: receive-info.ts), and with the
 *      extensions on, `capabilities: ['query', 'report', 'delete']`;
 *   2. QUERY (only when offered) → ANSWER from the store and refs alone;
 *   3. DONE → idle; UPDATE → judged (schema, archive mode, each `from` is the
 *      ref's current value, the summary can be rewritten) → STATUS;
 *   4. each PUTOBJECT → judged and staged (receive-object.ts) → STATUS; after
 *      a refusal, objects still in flight are answered STATUS false unstaged;
 *      a version-0 `.sig`/`.sizes2` file is read, dropped and answered true;
 *   5. DONE → publish (receive-publish.ts), or after a refusal nothing; when
 *      `report` was offered and DONE asks, one REPORT says what happened.
 *
 * The next message is read only after the previous one was answered, and
 * answers go out in order: that is what makes a pipelining pusher safe
 * (spec/protocol.md section 12.2). Every
 * exit path (success, refusal, bad input, EOF mid-payload, idle timeout, a
 * signal through the staging's exit clean-up) removes the staging directory.
 * Nothing but protocol bytes is written to `output`; bad input ends as a
 * typed error in the result, never as a thrown exception.
 */
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { RECEIVER } from '../../spec/machine.js';
import type { ReceiverFinalState, ReceiverNames } from '../../spec/machines.generated.js';
import { type OstreePushError, ProtocolError, WireError, asOstreePushError } from '../errors.js';
import { acquireLock } from '../repo/lock.js';
import { MAX_METADATA_SIZE } from '../repo/metadata.js';
import { JOURNAL_REL } from '../repo/ref-journal.js';
import type { ObjectName } from '../repo/object-names.js';
import { collectionIdOf } from '../repo/bindings.js';
import { listRefs, readRef, ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { Staging } from '../repo/staging.js';
import { assertSummaryWritable } from '../repo/summary.js';
import { DEFAULT_MAX_PAYLOAD_SIZE } from '../wire/constants.js';
import type { AnswerMessage, PutObjectMessage, StatusMessage, UpdateMessage } from '../wire/messages.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import type { ActionHandlers, GuardTable, Replies, Seen, StateTable } from './actor.js';
import { Endpoint, type StepRecord } from './endpoint.js';
import { idleLimited } from './idle.js';
import type { InfoPolicy } from '../policy/info-policy.js';
import { answerQuery, infoBody } from './receive-info.js';
import { notArchive, refMoved, statusText, unchanged } from './receive-refusals.js';
import { type ObjectVerdict, receiveObject, storeLookup, type StoreLookup } from './receive-object.js';
import { checkBindings } from './receive-bindings.js';
import { assertFreeSpace, limitsOf, PushBudget, type ReceiveLimits } from './receive-limits.js';
import { takeReceiverSlot, type ReceiverSlot } from '../repo/receiver-slots.js';
import { publishUpdate, stagedView, type AcceptedUpdate, type PublishHooks, type PublishPolicy, type PublishStep } from './receive-publish.js';
import type { ReceiveChecks } from '../policy/engine.js';
import type { HookOutcome } from '../policy/update-hook.js';

export interface ReceiverPolicy {
  /** Accept updates that are not fast-forwards (default false). */
  allowForce?: boolean;
  /** Largest object accepted, in bytes (default 64 GiB). */
  maxObjectSize?: bigint;
  /** Largest metadata object accepted (default and ceiling 10 MiB). */
  maxMetadataSize?: number;
  /** End the session when the pusher sends nothing for this long (default 10 minutes). */
  idleTimeoutMs?: number;
  /** The bounds of receive-limits.ts (defaults there): the whole session, one push's objects and bytes, receivers at once, the free-space floor. */
  sessionTimeoutMs?: number;
  maxPushBytes?: bigint;
  maxPushObjects?: number;
  maxReceivers?: number;
  minFreeBytes?: bigint;
  /** A signing key is configured: a signed summary may be rewritten (then `signSummary` re-signs it). */
  canSignSummary?: boolean;
  signSummary?: (repo: Repo) => Promise<void>;
  /** With canSignSummary: the contents of `summary.sig` for summary bytes (a repository in a bucket writes both itself). */
  summarySignature?: (summary: Uint8Array) => Promise<Uint8Array>;
  /** Write a summary after refs move even when the repository had none. */
  alwaysWriteSummary?: boolean;
  /** Never touch the summary (`update` off, or an update hook owns it). */
  leaveSummary?: boolean;
  /** Re-commit each pushed commit, as ostree-receive 1.x does (receive-recommit.ts; the `recommit` setting). */
  recommit?: boolean;
  /** Receive policy callbacks: ref permissions, signatures, update hook (src/policy/engine.ts `receiverPolicyParts`). */
  checks?: ReceiveChecks;
  /** The signatures required and the ref permissions, advertised in INFO `policy` when extensions are on (spec/protocol.md 12.6). */
  infoPolicy?: InfoPolicy;
  /**
   * Refuse a ref whose new commit is bound to another ref or collection
   * (PROTOCOL_REF_BINDING, receive-bindings.ts; default true): `ostree pull`
   * would refuse that ref.
   */
  verifyBindings?: boolean;
  /** Take ostree's own lock around publication (default true; false only for the test showing what it prevents). */
  ostreeLock?: boolean;
}

export interface ReceiverHooks {
  /** Every machine step. */
  onStep?: (step: StepRecord) => void;
  /** Each object as it lands in objects/, in publication order. */
  onPublished?: (object: ObjectName, index: number) => void;
  /** A pause point at each publication step (receive-publish.ts PUBLISH_STEPS; tests only). */
  pause?: (step: PublishStep) => Promise<void> | void;
}

export interface ReceiveOptions {
  repo: Repo;
  input: AsyncIterable<Uint8Array> | Readable;
  output: Writable;
  policy?: ReceiverPolicy;
  /** Progress lines (the CLI shows them with -v); never protocol output. */
  log?: (line: string) => void;
  hooks?: ReceiverHooks;
  /** Offer the extensions of spec/protocol.md section 12 (default true); false is plain version 0. */
  extensions?: boolean;
}

export type ReceiveOutcome = ReceiverFinalState;

export interface ReceiveResult {
  outcome: ReceiveOutcome;
  /** Refs moved: whenever a ref file was written, whatever happened afterwards. */
  updated: AcceptedUpdate[];
  /** What went wrong without undoing what was done: after the refs moved (summary, hook, the link), or ostree's lock unavailable. */
  warnings: OstreePushError[];
  /** `discarded`: version-0 compatibility files (`.sig`, `.sizes2`) read and dropped, never published. */
  objects: { received: number; alreadyPresent: number; published: number; discarded: number };
  /** Why the session did not do everything asked (refused or aborted). */
  error?: OstreePushError;
  /** The update hook's outcome, when one ran (a failure does not change `outcome`). */
  hook?: HookOutcome;
}

/** The reader must never refuse a size itself: the receiver answers an oversized object with STATUS. */
const NO_READER_LIMIT = 2n ** 64n - 1n;

/** The answer to every accepted UPDATE and object: frozen, so it is validated and encoded once per byte order. */
const STATUS_OK: StatusMessage = Object.freeze({ type: 'STATUS', result: true, message: '', extra: new Map<string, never>() });

/** Codes that mean "the request was refused" rather than "the session broke". */
const REFUSALS = new Set<string>([
  'PROTOCOL_BAD_MESSAGE',
  'PROTOCOL_NOT_FAST_FORWARD',
  'PROTOCOL_INCOMPLETE_COMMIT',
  'REPO_REF_CONFLICT',
  'REPO_REF_BLOCKED',
  'REPO_BAD_REF_NAME',
  'REPO_SUMMARY_SIGNED',
  'REPO_UNSUPPORTED_MODE',
  'REPO_BAD_OBJECT_NAME',
  'REPO_CORRUPT_OBJECT',
  'REPO_MALFORMED_OBJECT',
  'REPO_OBJECT_TOO_LARGE',
  'REPO_LOW_SPACE',
  'PROTOCOL_PUSH_TOO_LARGE',
  'GVARIANT_BAD_VALUE',
  'GVARIANT_NOT_NORMAL',
  'POLICY_REF_DENIED',
  'PROTOCOL_DELETE_UNSUPPORTED',
  'PROTOCOL_REF_BINDING',
  'POLICY_UNSIGNED',
  'POLICY_BAD_SIGNATURE',
]);


/** The UPDATE's ref changes, or why they are refused. */
function judgeUpdate(repo: Repo, m: UpdateMessage, policy: ReceiverPolicy, deletes: boolean): AcceptedUpdate[] {
  if (repo.mode !== 'archive') throw notArchive(repo.path, repo.mode);
  const out: AcceptedUpdate[] = [];
  for (const [ref, { from, to }] of m.refs) {
    const current = readRef(repo, ref) ?? ZERO_CHECKSUM;
    if (to === ZERO_CHECKSUM && !deletes) {
      // Only after INFO offered 'delete' (spec/protocol.md 12.7).
      throw new ProtocolError('PROTOCOL_DELETE_UNSUPPORTED', `ref ${ref}: deleting refs was not offered by this receiver; nothing was published`, { ref });
    }
    if (current !== from) throw refMoved(ref, current, from);
    if (to === current) throw unchanged(ref, to);
    out.push({ ref, from, to });
  }
  if (policy.canSignSummary !== true && policy.leaveSummary !== true) assertSummaryWritable(repo);
  return out;
}

/** What the session learnt from the message it is handling: read by the guards, the handlers and the reply. */
interface Turn {
  /** The UPDATE's ref changes, once judged. */
  update: AcceptedUpdate[];
  /** The PUTOBJECT was judged (objectValid); one in flight after a refusal is not. */
  judged: boolean;
  /** The object's verdict, once judged and received. */
  verdict?: ObjectVerdict;
  /** Why this message is refused. */
  refused?: OstreePushError;
  /** false: the payload was left unread, the stream is out of step (the session ends after the STATUS). */
  inStep: boolean;
  /** lookUp's answer to the QUERY. */
  answer?: AnswerMessage;
  /** Why publishing failed, when a REPORT will say so. */
  publishFailure?: OstreePushError;
}

const newTurn = (): Turn => ({ update: [], judged: false, inStep: true });

/**
 * One receiving session: the data the receiver's machine is judged and acted
 * on. Its methods are the guards, the action handlers and the replies of the
 * tables below; `receive()` runs it.
 */
class ReceiveSession {
  readonly repo: Repo;
  readonly policy: ReceiverPolicy;
  readonly log: (line: string) => void;
  readonly bounds: ReceiveLimits;
  readonly objectLimits: { maxObjectSize: bigint; maxMetadataSize: number };
  readonly budget: PushBudget;
  readonly verifyBindings: boolean;
  readonly collectionId: string | null;
  readonly publishPolicy: PublishPolicy;
  readonly publishHooks: PublishHooks;
  readonly extensions: boolean;
  readonly ep: Endpoint<ReceiverNames, ReceiveSession, Reply>;
  readonly result: ReceiveResult = { outcome: 'aborted', updated: [], warnings: [], objects: { received: 0, alreadyPresent: 0, published: 0, discarded: 0 } };
  /** Set once a ref file was written: from then on nothing may report this session as failed. */
  moved: AcceptedUpdate[] | undefined;
  /** The updates of the accepted UPDATE. */
  accepted: AcceptedUpdate[] = [];
  /** The first refusal of this session: it decides the outcome. */
  refusal: OstreePushError | undefined;
  /** DONE was received and publishing began: its failures are refusals of the update. */
  publishing = false;
  /** A write blocked on a pusher that stopped reading was ended at the deadline. */
  pastDeadline = false;
  turn: Turn = newTurn();
  staging: Staging | null = null;
  inStore: StoreLookup | undefined;
  /** Every staging of this session, so that the end can wait for its background writes. */
  readonly stagings: Staging[] = [];
  readonly startedAt = Date.now();

  constructor(options: ReceiveOptions) {
    this.repo = options.repo;
    this.policy = options.policy ?? {};
    const policy = this.policy;
    const hooks = options.hooks ?? {};
    this.log = options.log ?? (() => undefined);
    this.extensions = options.extensions !== false;
    this.objectLimits = {
      maxObjectSize: policy.maxObjectSize ?? DEFAULT_MAX_PAYLOAD_SIZE,
      maxMetadataSize: Math.min(policy.maxMetadataSize ?? MAX_METADATA_SIZE, MAX_METADATA_SIZE),
    };
    this.bounds = limitsOf(policy);
    const bounds = this.bounds;
    this.budget = new PushBudget(bounds);
    this.verifyBindings = policy.verifyBindings !== false;
    this.collectionId = collectionIdOf(this.repo.config);
    this.publishPolicy = {
      allowForce: policy.allowForce === true,
      verifyBindings: this.verifyBindings,
      collectionId: this.collectionId,
      canSignSummary: policy.canSignSummary === true,
      ...(policy.signSummary === undefined ? {} : { signSummary: policy.signSummary }),
      ...(policy.alwaysWriteSummary === undefined ? {} : { alwaysWriteSummary: policy.alwaysWriteSummary }),
      ...(policy.leaveSummary === undefined ? {} : { leaveSummary: policy.leaveSummary }),
      ...(policy.recommit === true ? { recommit: true } : {}),
      ...(policy.checks === undefined ? {} : { checks: policy.checks }),
      ...(policy.ostreeLock === undefined ? {} : { ostreeLock: policy.ostreeLock }),
      warn: (w) => this.log(`warning: ${w.message}`),
    };
    this.publishHooks = {
      ...(hooks.onPublished === undefined ? {} : { onPublished: hooks.onPublished }),
      ...(hooks.pause === undefined ? {} : { pause: hooks.pause }),
    };
    const input = idleLimited(options.input as AsyncIterable<Uint8Array>, bounds.idleTimeoutMs, {
      ...(bounds.sessionTimeoutMs > 0 ? { deadline: { at: this.startedAt + bounds.sessionTimeoutMs, error: () => this.sessionTimeout() } } : {}),
    });
    const wire = { reader: new MessageReader(input, { maxPayloadSize: NO_READER_LIMIT }), writer: new MessageWriter(options.output), followPeerOrder: true };
    this.ep = new Endpoint(RECEIVER, wire, { data: this as ReceiveSession, ...RECEIVER_TABLES }, hooks.onStep === undefined ? {} : { onStep: hooks.onStep });
  }

  sessionTimeout(): ProtocolError {
    const ms = this.bounds.sessionTimeoutMs;
    return new ProtocolError('PROTOCOL_SESSION_TIMEOUT', `the session lasted more than ${ms / 1000} s (session_timeout); giving up, nothing was published`, { ms });
  }

  newStaging(): Staging {
    const s = Staging.create(this.repo);
    this.stagings.push(s);
    return s;
  }

  /** Answers every message in turn until the machine ends. */
  async run(): Promise<void> {
    const ep = this.ep;
    while (!ep.finished) {
      const reply = ep.owed();
      if (reply !== undefined) {
        await reply(this);
        continue;
      }
      this.turn = newTurn();
      const r = await ep.receive({ acceptInvalid: ['UPDATE', 'PUTOBJECT'] });
      if (r === null) throw new ProtocolError('PROTOCOL_PEER_CLOSED', 'the pusher closed the connection before DONE; nothing was published', {});
    }
    this.result.outcome = this.moved !== undefined ? 'published' : (ep.entry(OUTCOMES) ?? 'aborted');
    if (this.refusal !== undefined && this.moved === undefined) this.result.error = this.refusal;
  }

  // ---- guards (spec/machines/receiver.json, of: 'local') ----

  /** updateValid: the refs may move here, as asked, under this policy. */
  async judgeUpdate(message: UpdateMessage, invalid: ProtocolError | undefined): Promise<boolean> {
    try {
      if (invalid !== undefined) throw invalid;
      this.turn.update = judgeUpdate(this.repo, message, this.policy, this.extensions);
      await assertFreeSpace(this.repo, this.bounds.minFreeBytes, 0n);
      await this.policy.checks?.onUpdate(this.repo, this.turn.update);
      if (this.verifyBindings) await checkBindings({ path: this.repo.path, held: this.repo.held }, this.turn.update, this.collectionId);
    } catch (e) {
      this.turn.refused = asOstreePushError(e);
    }
    return this.turn.refused === undefined;
  }

  /** objectValid: within the push's bounds, then received into staging, verified and passed by the policy. */
  async judgeObject({ message, payload, invalid }: Seen<'recv:PUTOBJECT'>): Promise<boolean> {
    const turn = this.turn;
    turn.judged = true;
    if (invalid === undefined) {
      // Judged on the body, before the payload is read: a refusal here ends the session.
      try {
        this.budget.charge(message.object, message.size);
        if (this.budget.spaceCheckDue(message.size)) await assertFreeSpace(this.repo, this.bounds.minFreeBytes, message.size);
      } catch (e) {
        turn.refused = asOstreePushError(e);
        turn.inStep = false;
        return false;
      }
    }
    this.staging ??= this.newStaging();
    const staging = this.staging;
    this.inStore ??= storeLookup(this.repo);
    let v = await receiveObject(this.repo, staging, message, payload, this.objectLimits, invalid, this.inStore);
    if (v.ok && v.stored !== 'discarded') v = await this.checkStaged(message, v);
    turn.verdict = v;
    if (!v.ok) {
      turn.refused = v.error;
      turn.inStep = v.inStep;
    }
    return v.ok;
  }

  /** The policy's and the bindings' say on a staged object. */
  async checkStaged(message: PutObjectMessage, v: ObjectVerdict): Promise<ObjectVerdict> {
    const { checks } = this.policy;
    const staging = this.staging;
    if (staging === null || (checks === undefined && !this.verifyBindings)) return v;
    const dot = message.object.indexOf('.');
    const object = { checksum: message.object.slice(0, dot), type: message.object.slice(dot + 1) };
    try {
      if (this.verifyBindings && object.type === 'commit') await checkBindings(stagedView(this.repo, staging), this.accepted, this.collectionId, object.checksum);
      await checks?.onObjectStaged(this.repo, staging, object, this.accepted);
    } catch (e) {
      return { ok: false, error: asOstreePushError(e), inStep: true };
    }
    return v;
  }

  // ---- action handlers ----

  /** beginStaging: the staging directory, and the accepted updates. */
  beginStaging(): void {
    this.staging ??= this.newStaging();
    this.accepted = this.turn.update;
    for (const u of this.accepted) this.log(`update ${u.ref}: ${u.from} -> ${u.to}`);
  }

  /** keepObject: the verified object stays staged (a compatibility file was dropped instead); counted. */
  keepObject(message: PutObjectMessage): void {
    const stored = this.turn.verdict?.ok === true ? this.turn.verdict.stored : 'staged';
    const counts = this.result.objects;
    if (stored === 'discarded') {
      counts.discarded++;
      this.log(`discarded ${message.object} (${message.size} bytes): a version-0 compatibility file nothing here verifies; not published`);
    } else if (stored === 'staged') counts.received++;
    else counts.alreadyPresent++;
  }

  /**
   * discardObject: a judged object was discarded by its judgement; one in
   * flight when this session refused is skipped unread, never staged.
   */
  async discardObject({ message, payload, invalid }: Seen<'recv:PUTOBJECT'>): Promise<void> {
    if (this.turn.judged) return;
    if (invalid !== undefined) {
      this.turn.refused = invalid;
      this.turn.inStep = false;
      return;
    }
    await payload.skip();
    this.turn.refused = new ProtocolError('PROTOCOL_REFUSED', `${message.object} not taken: an earlier refusal ended this push`, { object: message.object });
  }

  /** publish: under the lock, objects then refs (receive-publish.ts); with a report due, a failure is kept for it. */
  async publish(): Promise<void> {
    this.staging ??= this.newStaging();
    const staging = this.staging;
    this.publishing = true;
    let done;
    try {
      done = await publishUpdate(this.repo, staging, this.accepted, this.publishPolicy, this.publishHooks);
    } catch (e) {
      // With a report due, the failure goes into it; without, it ends the session.
      if (!this.ep.allows('send:REPORT')) throw e;
      this.turn.publishFailure = asOstreePushError(e);
      this.log(`publish failed: ${this.turn.publishFailure.message}`);
      return;
    }
    const { result, log } = this;
    this.moved = done.moved;
    result.objects.published = done.published;
    result.objects.alreadyPresent += done.alreadyPresent;
    result.updated = done.moved;
    result.warnings.push(...done.warnings);
    for (const w of done.warnings) if (w.code !== 'REPO_OSTREE_LOCK_UNAVAILABLE') log(`warning: ${w.message}`);
    await this.afterPublish(done.moved);
    log(`published ${done.published} objects (${done.alreadyPresent} already present, ${done.dropped} unreferenced dropped)${done.summaryUpdated ? '; summary updated' : ''}`);
  }

  /** The update hook, once the refs moved: it cannot make this push a failure. */
  async afterPublish(moved: AcceptedUpdate[]): Promise<void> {
    const { checks } = this.policy;
    // A ref already at a re-commit of what was pushed did not move: no hook for it (as 1.x).
    const changed = moved.filter((u) => u.from !== u.to);
    if (checks === undefined || changed.length === 0) return;
    try {
      const hook = await checks.afterPublish(this.repo, changed);
      if (hook !== null) {
        this.result.hook = hook;
        this.log(hook.ok ? 'update hook succeeded' : `warning: ${hook.error?.message ?? 'update hook failed'}`);
      }
    } catch (e) {
      this.result.warnings.push(asOstreePushError(e));
      this.log(`warning: ${asOstreePushError(e).message}`);
    }
  }

  /** cleanup: the staging directory goes (the lock is released by publishing itself). */
  cleanup(): void {
    this.staging?.dispose();
    this.staging = null;
  }

  // ---- replies, one per state left by a send ----

  /** INFO: the mode, the refs as they are going to be, and with the extensions on what is offered. */
  async sendInfo(): Promise<void> {
    const { repo, policy } = this;
    // What it can say in advance (section 12.6): its policy, whether it takes forced updates, the collection id.
    const advertised: InfoPolicy = {
      ...(policy.infoPolicy ?? { signVerify: [], gpgVerify: false }),
      allowForce: policy.allowForce === true,
      ...(this.collectionId === null ? {} : { collectionId: this.collectionId }),
      ...(policy.recommit === true ? { recommit: true } : {}),
    };
    // A ref journal left by a receiver killed mid-write is completed first (taking the lock does it), so INFO
    // lists the refs as they are going to be: a pusher checking after a lost session must see the truth.
    if (existsSync(repo.resolve(JOURNAL_REL))) (await acquireLock(repo)).release();
    const info = infoBody(repo.modeNumber, listRefs(repo), this.extensions, advertised);
    if (info.truncated) this.log(`INFO lists ${info.message.refs.size} of ${info.total} refs (body limit)`);
    await this.ep.send(info.message);
  }

  async sendAnswer(): Promise<void> {
    const answer = this.turn.answer;
    if (answer === undefined) throw new ProtocolError('INTERNAL', 'no ANSWER was looked up', {});
    await this.ep.send(answer);
  }

  /** STATUS false with the reason; a stream out of step then ends the session. */
  async refuse(): Promise<void> {
    const why = this.turn.refused ?? new ProtocolError('PROTOCOL_BAD_MESSAGE', 'refused', {});
    this.refusal ??= why;
    this.log(`refused: ${why.message}`);
    await this.ep.send({ type: 'STATUS', result: false, message: statusText(why.message), extra: new Map() });
    if (!this.turn.inStep) throw why;
  }

  /** REPORT: each ref as it is, moved when its file was written, else refused with the reason. */
  async report(): Promise<void> {
    const { accepted, turn, result } = this;
    const movedNames = new Set((this.moved ?? []).map((u) => u.ref));
    const why = turn.publishFailure?.message ?? result.warnings[0]?.message ?? 'not written';
    const refused = new Map<string, string>(accepted.filter((u) => !movedNames.has(u.ref)).map((u) => [u.ref, statusText(why)]));
    await this.ep.send({ type: 'REPORT', moved: accepted.filter((u) => movedNames.has(u.ref)).map((u) => u.ref), refused, extra: new Map() });
    if (turn.publishFailure !== undefined) {
      this.refusal ??= turn.publishFailure;
      result.updated = [];
    }
  }

  /** The session broke (or was refused in a way that ends it): what the result says. */
  async failed(e: unknown): Promise<void> {
    const { result } = this;
    // A write ended at the deadline fails as a closed stream: the deadline is the reason.
    const err = this.pastDeadline && e instanceof WireError ? this.sessionTimeout() : asOstreePushError(e);
    await this.ep.fail().catch(() => undefined);
    this.cleanup();
    if (this.moved !== undefined) {
      // The refs moved (e.g. the pusher left before the REPORT): the session published, and says so.
      result.outcome = 'published';
      result.updated = this.moved;
      result.warnings.push(err);
      this.log(`warning: the refs moved, then: ${err.message}`);
    } else {
      result.error = err;
      result.updated = [];
      result.outcome = err === this.refusal || (this.publishing && REFUSALS.has(err.code)) ? 'refused' : 'aborted';
      this.log(`${result.outcome}: ${err.message}`);
    }
  }
}

/** The receiver's judgement, one function per local guard of spec/machines/receiver.json. */
const GUARDS: GuardTable<ReceiverNames, ReceiveSession> = {
  updateValid: (s, { message, invalid }) => s.judgeUpdate(message, invalid),
  objectValid: (s, seen) => s.judgeObject(seen),
};

/** One handler per action of spec/machines/receiver.json. */
const HANDLERS: ActionHandlers<ReceiverNames, ReceiveSession> = {
  // The machine's context records what INFO offered; nothing else to do.
  enableQuery: () => undefined,
  enableReport: () => undefined,
  lookUp: async (s, { message }) => {
    s.turn.answer = await answerQuery(s.repo, message);
  },
  beginStaging: (s) => s.beginStaging(),
  keepObject: (s, { message }) => s.keepObject(message),
  discardObject: (s, seen) => s.discardObject(seen),
  publish: (s) => s.publish(),
  cleanup: (s) => s.cleanup(),
};

type Reply = (s: ReceiveSession) => Promise<void>;

/** The message owed in each state the receiver leaves by sending. */
const REPLIES: Replies<ReceiverNames, Reply> = {
  start: (s) => s.sendInfo(),
  answering: (s) => s.sendAnswer(),
  acceptUpdate: async (s) => void (await s.ep.send(STATUS_OK)),
  acceptObject: async (s) => void (await s.ep.send(STATUS_OK)),
  refuseUpdate: (s) => s.refuse(),
  refuseObject: (s) => s.refuse(),
  reporting: (s) => s.report(),
};

/** The receiver's tables (exported for the test that builds them against a changed machine). */
export const RECEIVER_TABLES = { handlers: HANDLERS, guards: GUARDS, replies: REPLIES } as const;

/** The session's outcome in each final state (after publishing, 'published' whatever the state). */
const OUTCOMES: StateTable<ReceiverFinalState, ReceiveOutcome> = {
  idle: 'idle',
  published: 'published',
  refused: 'refused',
  aborted: 'aborted',
};

export async function receive(options: ReceiveOptions): Promise<ReceiveResult> {
  const s = new ReceiveSession(options);
  const { bounds, result } = s;
  // More receivers than allowed: refused before INFO, nothing received (the protocol has no answer yet).
  let slot: ReceiverSlot | undefined;
  try {
    if (bounds.maxReceivers > 0) slot = takeReceiverSlot(s.repo, bounds.maxReceivers);
  } catch (e) {
    result.outcome = 'refused';
    result.error = asOstreePushError(e);
    s.log(`refused: ${result.error.message}`);
    return result;
  }
  // A write blocked on a pusher that stopped reading is ended at the deadline too.
  const deadlineTimer =
    bounds.sessionTimeoutMs > 0
      ? setTimeout(() => {
          s.pastDeadline = true;
          if (options.output.writableNeedDrain) options.output.destroy();
        }, bounds.sessionTimeoutMs)
      : undefined;
  deadlineTimer?.unref();
  try {
    await s.run();
  } catch (e) {
    await s.failed(e);
  } finally {
    clearTimeout(deadlineTimer);
    slot?.release();
    s.cleanup();
    // A disposed staging removes itself again once its last background write ends.
    for (const staging of s.stagings) await staging.settle().catch(() => undefined);
  }
  return result;
}
