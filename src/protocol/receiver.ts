/**
 * The receiving engine of protocol version 0 (spec/protocol.md, "Exchange";
 * spec/machines/receiver.json), stop-and-wait:
 *
 *   1. send INFO at once: the repository's mode number and its refs/heads
 *      refs (those that fit one body: receive-info.ts), and with the
 *      extensions on, `capabilities: ['query', 'report']`;
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
import type { QueryMessage, StatusMessage, UpdateMessage } from '../wire/messages.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { Endpoint, type StepRecord } from './endpoint.js';
import { idleLimited } from './idle.js';
import type { InfoPolicy } from '../policy/info-policy.js';
import { answerQuery, infoBody } from './receive-info.js';
import { notArchive, refMoved, statusText, unchanged } from './receive-refusals.js';
import { receiveObject, storeLookup, type StoreLookup } from './receive-object.js';
import { checkBindings } from './receive-bindings.js';
import { assertFreeSpace, DEFAULT_LIMITS, PushBudget, type ReceiveLimits } from './receive-limits.js';
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

export type ReceiveOutcome = 'idle' | 'published' | 'refused' | 'aborted';

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
  'PROTOCOL_REF_BINDING',
  'POLICY_UNSIGNED',
  'POLICY_BAD_SIGNATURE',
]);

/** The policy's bounds, defaults filled in. */
function limitsOf(p: ReceiverPolicy): ReceiveLimits {
  return {
    idleTimeoutMs: p.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs,
    sessionTimeoutMs: p.sessionTimeoutMs ?? DEFAULT_LIMITS.sessionTimeoutMs,
    maxPushBytes: p.maxPushBytes ?? DEFAULT_LIMITS.maxPushBytes,
    maxPushObjects: p.maxPushObjects ?? DEFAULT_LIMITS.maxPushObjects,
    maxReceivers: p.maxReceivers ?? DEFAULT_LIMITS.maxReceivers,
    minFreeBytes: p.minFreeBytes ?? DEFAULT_LIMITS.minFreeBytes,
  };
}

/** The UPDATE's ref changes, or why they are refused. */
function judgeUpdate(repo: Repo, m: UpdateMessage, policy: ReceiverPolicy): AcceptedUpdate[] {
  if (repo.mode !== 'archive') throw notArchive(repo.path, repo.mode);
  const out: AcceptedUpdate[] = [];
  for (const [ref, { from, to }] of m.refs) {
    const current = readRef(repo, ref) ?? ZERO_CHECKSUM;
    if (current !== from) throw refMoved(ref, current, from);
    if (to === current) throw unchanged(ref, to);
    out.push({ ref, from, to });
  }
  if (policy.canSignSummary !== true && policy.leaveSummary !== true) assertSummaryWritable(repo);
  return out;
}

export async function receive(options: ReceiveOptions): Promise<ReceiveResult> {
  const { repo } = options;
  const policy = options.policy ?? {};
  const hooks = options.hooks ?? {};
  const log = options.log ?? (() => undefined);
  const limits = {
    maxObjectSize: policy.maxObjectSize ?? DEFAULT_MAX_PAYLOAD_SIZE,
    maxMetadataSize: Math.min(policy.maxMetadataSize ?? MAX_METADATA_SIZE, MAX_METADATA_SIZE),
  };
  const bounds = limitsOf(policy);
  const startedAt = Date.now();
  const sessionTimeout = (): ProtocolError =>
    new ProtocolError('PROTOCOL_SESSION_TIMEOUT', `the session lasted more than ${bounds.sessionTimeoutMs / 1000} s (session_timeout); giving up, nothing was published`, { ms: bounds.sessionTimeoutMs });
  const input = idleLimited(options.input as AsyncIterable<Uint8Array>, bounds.idleTimeoutMs, {
    ...(bounds.sessionTimeoutMs > 0 ? { deadline: { at: startedAt + bounds.sessionTimeoutMs, error: sessionTimeout } } : {}),
  });
  const budget = new PushBudget(bounds);
  const reader = new MessageReader(input, { maxPayloadSize: NO_READER_LIMIT });
  const ep = new Endpoint(RECEIVER, reader, new MessageWriter(options.output), 'le', {
    followPeerOrder: true,
    ...(hooks.onStep === undefined ? {} : { onStep: hooks.onStep }),
  });

  const verifyBindings = policy.verifyBindings !== false;
  const collectionId = collectionIdOf(repo.config);
  const publishPolicy: PublishPolicy = {
    allowForce: policy.allowForce === true,
    verifyBindings,
    collectionId,
    canSignSummary: policy.canSignSummary === true,
    ...(policy.signSummary === undefined ? {} : { signSummary: policy.signSummary }),
    ...(policy.alwaysWriteSummary === undefined ? {} : { alwaysWriteSummary: policy.alwaysWriteSummary }),
    ...(policy.leaveSummary === undefined ? {} : { leaveSummary: policy.leaveSummary }),
    ...(policy.recommit === true ? { recommit: true } : {}),
    ...(policy.checks === undefined ? {} : { checks: policy.checks }),
    ...(policy.ostreeLock === undefined ? {} : { ostreeLock: policy.ostreeLock }),
    warn: (w) => log(`warning: ${w.message}`),
  };
  const publishHooks: PublishHooks = {
    ...(hooks.onPublished === undefined ? {} : { onPublished: hooks.onPublished }),
    ...(hooks.pause === undefined ? {} : { pause: hooks.pause }),
  };

  const result: ReceiveResult = { outcome: 'aborted', updated: [], warnings: [], objects: { received: 0, alreadyPresent: 0, published: 0, discarded: 0 } };
  /** Set once a ref file was written: from then on nothing may report this session as failed. */
  let moved: AcceptedUpdate[] | undefined;
  // More receivers than allowed: refused before INFO, nothing received (the protocol has no answer yet).
  let slot: ReceiverSlot | undefined;
  try {
    if (bounds.maxReceivers > 0) slot = takeReceiverSlot(repo, bounds.maxReceivers);
  } catch (e) {
    result.outcome = 'refused';
    result.error = asOstreePushError(e);
    log(`refused: ${result.error.message}`);
    return result;
  }
  // A write blocked on a pusher that stopped reading is ended at the deadline too.
  let pastDeadline = false;
  const deadlineTimer =
    bounds.sessionTimeoutMs > 0
      ? setTimeout(() => {
          pastDeadline = true;
          if (options.output.writableNeedDrain) options.output.destroy();
        }, bounds.sessionTimeoutMs)
      : undefined;
  deadlineTimer?.unref();
  let staging: Staging | null = null;
  let inStore: StoreLookup | undefined;
  let accepted: AcceptedUpdate[] = [];
  /** The first refusal of this session: it decides the outcome. */
  let refusal: OstreePushError | undefined;
  /** DONE was received and publishing began: its failures are refusals of the update. */
  let publishing = false;
  /** Every staging of this session, so that the end can wait for its background writes. */
  const stagings: Staging[] = [];
  const newStaging = (): Staging => {
    const s = Staging.create(repo);
    stagings.push(s);
    return s;
  };
  const cleanup = (): void => {
    staging?.dispose();
    staging = null;
  };

  try {
    const extensions = options.extensions !== false;
    // What it can say in advance (section 12.6): its policy, whether it takes forced updates, the collection id.
    const advertised: InfoPolicy = {
      ...(policy.infoPolicy ?? { signVerify: [], gpgVerify: false }),
      allowForce: policy.allowForce === true,
      ...(collectionId === null ? {} : { collectionId }),
      ...(policy.recommit === true ? { recommit: true } : {}),
    };
    // A ref journal left by a receiver killed mid-write is completed first (taking the lock does it), so INFO
    // lists the refs as they are going to be: a pusher checking after a lost session must see the truth.
    if (existsSync(repo.resolve(JOURNAL_REL))) (await acquireLock(repo)).release();
    const info = infoBody(repo.modeNumber, listRefs(repo), extensions, advertised);
    if (info.truncated) log(`INFO lists ${info.message.refs.size} of ${info.total} refs (body limit)`);
    await ep.send(info.message);
    while (!ep.finished) {
      /** The judgement of this message, when it is refused. */
      let refused: OstreePushError | undefined;
      /** false: the payload was left unread, the stream is out of step. */
      let inStep = true;
      let update: AcceptedUpdate[] = [];
      let query: QueryMessage | undefined;
      /** Why publishing failed, when a REPORT will say so. */
      let publishFailure: OstreePushError | undefined;
      const r = await ep.receive(
        async (m) => {
          if (m.message.type === 'QUERY') {
            query = m.message;
            return {};
          }
          if (m.message.type === 'UPDATE') {
            try {
              if (m.invalid !== undefined) throw m.invalid;
              update = judgeUpdate(repo, m.message, policy);
              await assertFreeSpace(repo, bounds.minFreeBytes, 0n);
              await policy.checks?.onUpdate(repo, update);
              if (verifyBindings) await checkBindings(repo.path, update, collectionId);
            } catch (e) {
              refused = asOstreePushError(e);
            }
            return { updateValid: refused === undefined };
          }
          if (m.message.type === 'PUTOBJECT' && m.payload !== undefined && ep.state === 'awaitDone') {
            // In flight when this session refused: never staged, answered false.
            if (m.invalid !== undefined) {
              refused = m.invalid;
              inStep = false;
            } else {
              await m.payload.skip();
              refused = new ProtocolError('PROTOCOL_REFUSED', `${m.message.object} not taken: an earlier refusal ended this push`, { object: m.message.object });
            }
            return {};
          }
          if (m.message.type === 'PUTOBJECT' && m.payload !== undefined && m.invalid === undefined) {
            // Judged on the body, before the payload is read: a refusal here ends the session.
            try {
              budget.charge(m.message.object, m.message.size);
              if (budget.spaceCheckDue(m.message.size)) await assertFreeSpace(repo, bounds.minFreeBytes, m.message.size);
            } catch (e) {
              refused = asOstreePushError(e);
              inStep = false;
              return { objectValid: false };
            }
          }
          if (m.message.type === 'PUTOBJECT' && m.payload !== undefined) {
            staging ??= newStaging();
            inStore ??= storeLookup(repo);
            let v = await receiveObject(repo, staging, m.message, m.payload, limits, m.invalid, inStore);
            if (v.ok && v.stored === 'discarded') {
              result.objects.discarded++;
              log(`discarded ${m.message.object} (${m.message.size} bytes): a version-0 compatibility file nothing here verifies; not published`);
              return { objectValid: true };
            }
            if (v.ok && (policy.checks !== undefined || verifyBindings)) {
              const name = m.message.object;
              const dot = name.indexOf('.');
              const object = { checksum: name.slice(0, dot), type: name.slice(dot + 1) };
              try {
                if (verifyBindings && object.type === 'commit') await checkBindings(stagedView(repo, staging), accepted, collectionId, object.checksum);
                await policy.checks?.onObjectStaged(repo, staging, object, accepted);
              } catch (e) {
                v = { ok: false, error: asOstreePushError(e), inStep: true };
              }
            }
            if (v.ok) {
              if (v.stored === 'staged') result.objects.received++;
              else result.objects.alreadyPresent++;
            } else {
              refused = v.error;
              inStep = v.inStep;
            }
            return { objectValid: v.ok };
          }
          return {};
        },
        { acceptInvalid: ['UPDATE', 'PUTOBJECT'] },
      );
      if (r === null) {
        cleanup();
        throw new ProtocolError('PROTOCOL_PEER_CLOSED', 'the pusher closed the connection before DONE; nothing was published', {});
      }
      for (const action of r.actions) {
        if (action === 'beginStaging') {
          staging ??= newStaging();
          accepted = update;
          for (const u of accepted) log(`update ${u.ref}: ${u.from} -> ${u.to}`);
        } else if (action === 'publish') {
          staging ??= newStaging();
          publishing = true;
          let done;
          try {
            done = await publishUpdate(repo, staging, accepted, publishPolicy, publishHooks);
          } catch (e) {
            // With a report due, the failure goes into it; without, it ends the session.
            if (ep.state !== 'reporting') throw e;
            publishFailure = asOstreePushError(e);
            log(`publish failed: ${publishFailure.message}`);
            continue;
          }
          moved = done.moved;
          result.objects.published = done.published;
          result.objects.alreadyPresent += done.alreadyPresent;
          result.updated = done.moved;
          result.warnings.push(...done.warnings);
          for (const w of done.warnings) if (w.code !== 'REPO_OSTREE_LOCK_UNAVAILABLE') log(`warning: ${w.message}`);
          // A ref already at a re-commit of what was pushed did not move: no hook for it (as 1.x).
          const changed = done.moved.filter((u) => u.from !== u.to);
          if (policy.checks !== undefined && changed.length > 0) {
            try {
              const hook = await policy.checks.afterPublish(repo, changed);
              if (hook !== null) {
                result.hook = hook;
                log(hook.ok ? 'update hook succeeded' : `warning: ${hook.error?.message ?? 'update hook failed'}`);
              }
            } catch (e) {
              // The refs have moved: the hook cannot make this push a failure.
              result.warnings.push(asOstreePushError(e));
              log(`warning: ${asOstreePushError(e).message}`);
            }
          }
          log(`published ${done.published} objects (${done.alreadyPresent} already present, ${done.dropped} unreferenced dropped)${done.summaryUpdated ? '; summary updated' : ''}`);
        } else if (action === 'cleanup') {
          cleanup();
        }
      }
      if (ep.state === 'answering') {
        await ep.send(await answerQuery(repo, query ?? { objects: [], refs: [] }));
      } else if (ep.state === 'reporting') {
        // Each ref as it is: moved when its file was written, else refused with the reason.
        const movedNames = new Set((moved ?? []).map((u) => u.ref));
        const why = publishFailure?.message ?? result.warnings[0]?.message ?? 'not written';
        const refused = new Map<string, string>(accepted.filter((u) => !movedNames.has(u.ref)).map((u) => [u.ref, statusText(why)]));
        await ep.send({ type: 'REPORT', moved: accepted.filter((u) => movedNames.has(u.ref)).map((u) => u.ref), refused, extra: new Map() });
        if (publishFailure !== undefined) {
          refusal ??= publishFailure;
          result.updated = [];
        }
      } else if (ep.state === 'acceptUpdate' || ep.state === 'acceptObject') {
        await ep.send(STATUS_OK);
      } else if (ep.state === 'refuseUpdate' || ep.state === 'refuseObject') {
        const why = refused ?? new ProtocolError('PROTOCOL_BAD_MESSAGE', 'refused', {});
        refusal ??= why;
        log(`refused: ${why.message}`);
        await ep.send({ type: 'STATUS', result: false, message: statusText(why.message), extra: new Map() });
        if (!inStep) throw why;
      }
    }
    result.outcome = moved !== undefined ? 'published' : ep.state === 'idle' ? 'idle' : ep.state === 'published' ? 'published' : 'refused';
    if (refusal !== undefined && moved === undefined) result.error = refusal;
  } catch (e) {
    // A write ended at the deadline fails as a closed stream: the deadline is the reason.
    const err = pastDeadline && e instanceof WireError ? sessionTimeout() : asOstreePushError(e);
    ep.fail();
    cleanup();
    if (moved !== undefined) {
      // The refs moved (e.g. the pusher left before the REPORT): the session published, and says so.
      result.outcome = 'published';
      result.updated = moved;
      result.warnings.push(err);
      log(`warning: the refs moved, then: ${err.message}`);
    } else {
      result.error = err;
      result.updated = [];
      result.outcome = err === refusal || (publishing && REFUSALS.has(err.code)) ? 'refused' : 'aborted';
      log(`${result.outcome}: ${err.message}`);
    }
  } finally {
    clearTimeout(deadlineTimer);
    slot?.release();
    cleanup();
    // A disposed staging removes itself again once its last background write ends.
    for (const s of stagings) await s.settle().catch(() => undefined);
  }
  return result;
}
