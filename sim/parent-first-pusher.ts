/**
 * A version-0 pusher that sends the objects PARENT FIRST: the reverse of the
 * child-first plan the real pusher uses (push-plan.ts). Version 0 does not
 * fix an order, so a receiver must not depend on one: ours stages everything
 * and publishes child-first under the lock; the 2015 receiver put objects
 * into objects/ in arrival order, so with this pusher a kill in the middle
 * leaves a commit or dirtree in the store without its children (I2).
 *
 * Stop-and-wait, no extensions: INFO, UPDATE + STATUS, each PUTOBJECT +
 * STATUS, DONE. The result has the fields of the real pusher's PushResult
 * that the runner reads; success is the receiver's exit status 0, as
 * version 0 learns it.
 */
import type { Readable, Writable } from 'node:stream';
import { localRefs, planPush, idleLimited, DEFAULT_PUSH_IDLE_TIMEOUT_MS, type RefStatus } from '../src/protocol/index.js';
import { TransportError } from '../src/errors.js';
import type { Repo } from '../src/repo/index.js';
import { MessageReader } from '../src/wire/reader.js';
import { MessageWriter } from '../src/wire/writer.js';

export interface ParentFirstOptions {
  repo: Repo;
  input: Readable;
  output: Writable;
  remoteExit?: Promise<number | null>;
  /** As push()'s: a receiver silent this long while we wait for it is given up. */
  idleTimeoutMs?: number;
}

export interface ParentFirstResult {
  ok: boolean;
  refs: { ref: string; from: string; to: string; status: RefStatus }[];
  objectsSent: number;
}

export async function pushParentFirst(o: ParentFirstOptions): Promise<ParentFirstResult> {
  const writer = new MessageWriter(o.output);
  const input = idleLimited(o.input as AsyncIterable<Uint8Array>, o.idleTimeoutMs ?? DEFAULT_PUSH_IDLE_TIMEOUT_MS, {
    error: (ms) => new TransportError('TRANSPORT_IDLE_TIMEOUT', `the receiver sent nothing for ${ms} ms`, { ms }),
    progress: () => writer.bytesWritten - o.output.writableLength,
  });
  const reader = new MessageReader(input);
  const info = await reader.next();
  if (info?.message.type !== 'INFO') throw new Error(`expected INFO, got ${info?.message.type ?? 'end of stream'}`);
  const plan = await planPush(o.repo, localRefs(o.repo), info.message.refs);
  const updates = plan.refs.filter((r) => r.action === 'update');
  const result = (ok: boolean, sent: number): ParentFirstResult => ({
    ok,
    refs: plan.refs.map((r) => ({ ref: r.ref, from: r.from, to: r.to, status: r.action === 'rejected' ? 'rejected' : r.action === 'up-to-date' ? 'up-to-date' : ok ? 'pushed' : 'refused' })),
    objectsSent: sent,
  });
  const status = async (): Promise<boolean> => {
    const r = await reader.next();
    if (r?.message.type !== 'STATUS') throw new Error(`expected STATUS, got ${r?.message.type ?? 'end of stream'}`);
    return r.message.result;
  };
  const finish = async (): Promise<void> => {
    await writer.send({ type: 'DONE', extra: new Map() });
    await writer.end();
  };
  if (updates.length === 0) {
    await finish();
    return result(true, 0);
  }
  await writer.send({ type: 'UPDATE', refs: new Map(updates.map((r) => [r.ref, { from: r.from, to: r.to }])) });
  if (!(await status())) {
    await finish();
    return result(false, 0);
  }
  let sent = 0;
  for (const obj of [...plan.objects].reverse()) {
    const payload = (await o.repo.objects.openRead(obj.checksum, obj.type)) as AsyncIterable<Uint8Array>;
    await writer.sendPutObject({ object: obj.name, size: BigInt(obj.size) }, payload);
    if (!(await status())) {
      await finish();
      return result(false, sent);
    }
    sent++;
  }
  await finish();
  const code = o.remoteExit === undefined ? 0 : await o.remoteExit.catch(() => 1);
  return result(code === 0, sent);
}
