/**
 * Which protocol a push speaks to an ssh remote (`--protocol`):
 *
 * - `v0`: ours, `ostree-receive --repo=PATH` on stdin/stdout (spec/protocol.md);
 *   what a version-0 receiver of any age answers.
 * - `pull`: the pull form of 1.x servers (push-pull-form.ts): the server
 *   pulls over a forwarded HTTP port with `ostree-receive-1`, under its own
 *   configuration.
 * - `auto` (default): `--command` given means pull, `--receive-command`
 *   given means v0 (each names the command of its form). Otherwise the
 *   version-0 session is opened and its INFO read before anything is sent:
 *   a receiver that offers the extensions (capabilities) is ours, and the
 *   push goes on in that session. A receiver without them is a plain
 *   version-0 receiver, which reads no configuration (the 2015 one, or 1.x's
 *   legacy entry behind `ostree-receive --repo`): the pull form is tried
 *   with `ostree-receive-1`; when the server has that, it pulls and the
 *   version-0 session is closed unused; when it has not (exit 127), the push
 *   goes on in the version-0 session, after one warning line. A server
 *   without a version-0 receiver (the remote shell exits 127, or the
 *   receiver exits 2 with argparse's complaint about `--repo`, as the
 *   `ostree-receive` of 1.0 and 1.1 servers does) is tried in the pull form
 *   with the whole command list.
 */
import { PassThrough, type Readable } from 'node:stream';
import { capabilitiesOf } from '../protocol/capabilities.js';
import { decodeBody, decodeHeader, HEADER_SIZE, type InfoMessage } from '../wire/index.js';
import { usageError } from './command-line.js';

export type Protocol = 'auto' | 'v0' | 'pull';

export function parseProtocol(v: string | undefined): Protocol {
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'v0' || v === 'pull') return v;
  throw usageError(`--protocol must be 'auto', 'v0' or 'pull', not '${v}'`);
}

/** What the first message of a version-0 session says about the receiver. */
export type Probe = { kind: 'ours'; info: InfoMessage } | { kind: 'legacy'; info: InfoMessage } | { kind: 'none' };

export function probeOf(info: InfoMessage | undefined): Probe {
  if (info === undefined) return { kind: 'none' };
  return capabilitiesOf(info).size > 0 ? { kind: 'ours', info } : { kind: 'legacy', info };
}

/**
 * Reads the first message from `input` without losing it: resolves with the
 * INFO (undefined when the stream ended first, `ended`, or the first
 * message is not an INFO that decodes) and a stream that replays every byte read, then the
 * rest of `input`. Destroying the replay destroys `input`.
 */
export function peekInfo(input: Readable): Promise<{ info: InfoMessage | undefined; ended: boolean; input: Readable }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let need = HEADER_SIZE;
    let done = false;
    const finish = (info: InfoMessage | undefined, ended: boolean) => {
      if (done) return;
      done = true;
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onEnd);
      input.off('close', onEnd);
      input.pause();
      const replay = new PassThrough({ highWaterMark: 1024 * 1024 });
      if (have > 0) replay.write(Buffer.concat(chunks));
      if (ended) replay.end();
      else input.pipe(replay);
      replay.once('close', () => input.destroy());
      resolve({ info, ended, input: replay });
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      have += c.length;
      if (have < need) return;
      const all = Buffer.concat(chunks);
      try {
        const h = decodeHeader(all.subarray(0, HEADER_SIZE));
        need = HEADER_SIZE + h.length;
        if (have < need) return;
        const m = decodeBody(h.type, all.subarray(HEADER_SIZE, need), h.order);
        finish(m.type === 'INFO' ? m : undefined, false);
      } catch {
        finish(undefined, false);
      }
    };
    const onEnd = () => finish(undefined, true);
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onEnd);
    input.once('close', onEnd);
  });
}
