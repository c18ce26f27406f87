/**
 * The bounds on the work one pusher can cause a receiver (the receiver's
 * configuration: README, "Receiver configuration"; spec/receive-config.schema.json):
 *
 *   idle_timeout      the pusher sends nothing for this long while the
 *                     receiver waits for it: PROTOCOL_IDLE_TIMEOUT (idle.ts)
 *   session_timeout   the whole session, connection to DONE:
 *                     PROTOCOL_SESSION_TIMEOUT
 *   max_push_objects  PUTOBJECTs in one push, and
 *   max_push_bytes    their announced payload bytes: PROTOCOL_PUSH_TOO_LARGE,
 *                     judged on the PUTOBJECT before its payload is read
 *   max_receivers     sessions at once on one repository: REPO_BUSY, before
 *                     INFO (receiver-slots.ts)
 *   min_free_space    free bytes the repository's file system keeps: checked
 *                     at UPDATE, then again before each further
 *                     FREE_SPACE_CHECK_BYTES of payload and before any
 *                     object that large, counting the announced size:
 *                     REPO_LOW_SPACE
 *
 * Every refusal is a STATUS false where the protocol allows one (UPDATE,
 * PUTOBJECT), then the session ends and its staging is removed. 0 means
 * "no limit" for each but idle_timeout.
 */
import { statfs } from 'node:fs/promises';
import { ProtocolError, RepoError } from '../errors.js';
import type { Repo } from '../repo/repo.js';

export interface ReceiveLimits {
  /** Default 10 minutes. */
  idleTimeoutMs: number;
  /** Default 6 hours; 0: none. */
  sessionTimeoutMs: number;
  /** Default 64 GiB; 0: none. */
  maxPushBytes: bigint;
  /** Default 10 million; 0: none. */
  maxPushObjects: number;
  /** Default 16; 0: none. */
  maxReceivers: number;
  /** Default 64 MiB; 0: none. */
  minFreeBytes: bigint;
}

export const DEFAULT_LIMITS: Readonly<ReceiveLimits> = Object.freeze({
  idleTimeoutMs: 10 * 60 * 1000,
  sessionTimeoutMs: 6 * 60 * 60 * 1000,
  maxPushBytes: 64n * 1024n ** 3n,
  maxPushObjects: 10_000_000,
  maxReceivers: 16,
  minFreeBytes: 64n * 1024n ** 2n,
});

/** A policy's bounds, with the defaults filled in where it sets none. */
export function limitsOf(p: Partial<ReceiveLimits>): ReceiveLimits {
  return {
    idleTimeoutMs: p.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs,
    sessionTimeoutMs: p.sessionTimeoutMs ?? DEFAULT_LIMITS.sessionTimeoutMs,
    maxPushBytes: p.maxPushBytes ?? DEFAULT_LIMITS.maxPushBytes,
    maxPushObjects: p.maxPushObjects ?? DEFAULT_LIMITS.maxPushObjects,
    maxReceivers: p.maxReceivers ?? DEFAULT_LIMITS.maxReceivers,
    minFreeBytes: p.minFreeBytes ?? DEFAULT_LIMITS.minFreeBytes,
  };
}

/** Payload bytes between two looks at the free space. */
export const FREE_SPACE_CHECK_BYTES = 64n * 1024n * 1024n;

/** Free bytes for an unprivileged writer on the file system holding `path`. */
export async function freeBytes(path: string): Promise<bigint> {
  const s = await statfs(path, { bigint: true });
  return s.bavail * s.bsize;
}

/** REPO_LOW_SPACE unless the file system keeps `floor` bytes free after `incoming` more. */
export async function assertFreeSpace(repo: Repo, floor: bigint, incoming: bigint, free: (path: string) => Promise<bigint> = freeBytes): Promise<void> {
  if (floor === 0n) return;
  const have = await free(repo.path);
  if (have - incoming >= floor) return;
  const what = incoming === 0n ? '' : ` after the ${incoming} bytes announced`;
  throw new RepoError('REPO_LOW_SPACE', `${have} bytes free on the repository's file system${what}, below the receiver's floor of ${floor} (min_free_space); refusing the push`, {
    free: String(have),
    incoming: String(incoming),
    floor: String(floor),
  });
}

/** What one push has announced so far, against max_push_objects and max_push_bytes. */
export class PushBudget {
  objects = 0;
  bytes = 0n;
  private sinceSpaceCheck = 0n;

  constructor(private readonly limits: Pick<ReceiveLimits, 'maxPushBytes' | 'maxPushObjects'>) {}

  /** Counts one PUTOBJECT; PROTOCOL_PUSH_TOO_LARGE when it goes over a limit. */
  charge(object: string, size: bigint): void {
    const { maxPushObjects, maxPushBytes } = this.limits;
    if (maxPushObjects > 0 && this.objects + 1 > maxPushObjects) {
      throw new ProtocolError('PROTOCOL_PUSH_TOO_LARGE', `this push sends more than ${maxPushObjects} objects, the most the receiver takes in one push (max_push_objects)`, {
        object,
        max: maxPushObjects,
      });
    }
    if (maxPushBytes > 0n && this.bytes + size > maxPushBytes) {
      throw new ProtocolError('PROTOCOL_PUSH_TOO_LARGE', `object ${object} brings this push to ${this.bytes + size} bytes, over the ${maxPushBytes} the receiver takes in one push (max_push_bytes)`, {
        object,
        bytes: String(this.bytes + size),
        max: String(maxPushBytes),
      });
    }
    this.objects++;
    this.bytes += size;
    this.sinceSpaceCheck += size;
  }

  /** Whether the free space is due for another look (after FREE_SPACE_CHECK_BYTES, or for a large object). */
  spaceCheckDue(size: bigint): boolean {
    if (this.sinceSpaceCheck < FREE_SPACE_CHECK_BYTES && size < FREE_SPACE_CHECK_BYTES) return false;
    this.sinceSpaceCheck = 0n;
    return true;
  }
}
