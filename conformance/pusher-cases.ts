/**
 * Pusher cases: the suite plays the receiver against the pushing command
 * under test, a template with {remote}, {ref} (each ref one word) and
 * {source} (the source repository). It runs in the suite's current
 * directory.
 *
 * Two transports:
 * - ssh: {remote} is `conformance-host:DEST`. A directory placed first on
 *   PATH holds an `ssh` stand-in (drops the options and the host, runs the
 *   remote command locally) and an `ostree-receive` that is the scripted
 *   receiver (scripted-receiver.ts), so a pusher that runs `ssh HOST
 *   ostree-receive --repo=PATH` is tested unchanged, message by message.
 * - local: {remote} is the destination path; the pusher uses whatever
 *   receiver it starts itself, so only the outcome is checked.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Case } from './case.js';
import { buildFixture, hasObject, type BuiltFixture } from './fixture.js';
import { objectBasename, parseObjectBasename, type ObjectName, decodeCommit, decodeDirtree } from '../src/repo/index.js';
import { checkDestination, checkExit, tmpEntries } from './outcome.js';
import { entryCommands } from './bundle.js';
import { CaseFailure, fillTemplate, Peer, Problems, SSH_STAND_IN } from './process.js';
import type { ReceiverLog } from './scripted-receiver.js';
import type { RunOptions } from './receiver-cases.js';

export const SSH_HOST = 'conformance-host';


const SCRIPTED = 'conformance/scripted-receiver.ts';

/** Writes the ssh stand-in and the scripted `ostree-receive` into `bin`; `receiver` is the command running scripted-receiver.ts. */
export function writeStandIns(bin: string, receiver: string): void {
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ssh'), SSH_STAND_IN);
  writeFileSync(join(bin, 'ostree-receive'), `#!/bin/sh\nexec ${receiver} "$@"\n`);
  chmodSync(join(bin, 'ssh'), 0o755);
  chmodSync(join(bin, 'ostree-receive'), 0o755);
}

function matchTypes(pattern: readonly string[], got: readonly string[]): boolean {
  const re = new RegExp(`^${pattern.map((p) => (p.endsWith('*') ? `(?:${p.slice(0, -1)} )*` : `${p} `)).join('')}$`);
  return re.test(got.map((t) => `${t} `).join(''));
}

/** Children of a metadata object (files, dirtrees, dirmetas; a commit's tree), read from the source. */
function childrenOf(fx: BuiltFixture, o: ObjectName): ObjectName[] {
  if (o.type === 'commit') {
    const c = decodeCommit(readFileSync(fx.sourcePath(o)));
    return [{ checksum: c.rootDirtree, type: 'dirtree' }, { checksum: c.rootDirmeta, type: 'dirmeta' }];
  }
  if (o.type === 'dirtree') {
    const t = decodeDirtree(readFileSync(fx.sourcePath(o)));
    return [...t.files.map((f) => ({ checksum: f.checksum, type: 'file' as const })), ...t.dirs.flatMap((d) => [{ checksum: d.dirtree, type: 'dirtree' as const }, { checksum: d.dirmeta, type: 'dirmeta' as const }])];
  }
  return [];
}

/**
 * What the pusher's PUTOBJECTs must be. `closure` (core): each verifies as
 * the object it names, none is sent twice, and every object of the pushed
 * closures the receiver lacked arrived (version 0 fixes no order, and the
 * 2015 pusher sends every object of each new commit). `missingChildFirst`
 * (hardened) adds: only objects the receiver lacked, each after its children.
 */
async function checkSent(c: Case, fx: BuiltFixture, log: ReceiverLog, destBefore: (o: ObjectName) => boolean, how: 'closure' | 'missingChildFirst'): Promise<string[]> {
  const out: string[] = [];
  const puts = log.messages.filter((m) => m.type === 'PUTOBJECT');
  const sent = new Set<string>();
  const strict = how === 'missingChildFirst';
  for (const p of puts) {
    const name = p.object as string;
    if (p.valid !== true) out.push(`the pusher sent ${name}, which does not verify as that object`);
    if (sent.has(name)) out.push(`the pusher sent ${name} twice`);
    let o: ObjectName | undefined;
    try {
      o = parseObjectBasename(name);
    } catch {
      out.push(`the pusher sent ${JSON.stringify(name)}, which is not an object name`);
    }
    if (o !== undefined && strict) {
      if (destBefore(o)) out.push(`the pusher sent ${name}, which the receiver already had`);
      if (p.valid === true) {
        for (const child of childrenOf(fx, o)) {
          const cn = objectBasename(child.checksum, child.type);
          if (!sent.has(cn) && !destBefore(child)) out.push(`the pusher sent ${name} before its child ${cn}`);
        }
      }
    }
    sent.add(name);
  }
  // The whole closure of every pushed ref must have arrived.
  for (const ref of c.push?.refs ?? []) {
    const commit = c.fixture.source?.[ref];
    if (commit === undefined) continue;
    for (const o of await fx.objects(commit)) {
      const name = objectBasename(o.checksum, o.type);
      if (!sent.has(name) && !destBefore(o)) out.push(`the pusher never sent ${name}, which the receiver lacks`);
    }
  }
  return out;
}

async function runOnce(c: Case, command: string, transport: 'ssh' | 'local', opts: RunOptions): Promise<{ skipped?: string }> {
  const dir = join(opts.dir, transport);
  mkdirSync(dir, { recursive: true });
  const fx = await buildFixture(dir, c.fixture);
  const tmpBefore = tmpEntries(fx.dest);
  const destHad = new Set<string>();
  const before = (o: ObjectName): boolean => destHad.has(objectBasename(o.checksum, o.type));
  for (const sel of Object.values(c.fixture.source ?? {})) for (const o of await fx.objects(sel)) if (hasObject(fx.dest, o)) destHad.add(objectBasename(o.checksum, o.type));
  const env = { ...(opts.env ?? process.env) };
  let remote = fx.dest;
  const logPath = join(dir, 'receiver-log.json');
  if (transport === 'ssh') {
    const bin = join(dir, 'bin');
    writeStandIns(bin, (await entryCommands([SCRIPTED]))[SCRIPTED] as string);
    const receiver = { ...(c.receiver ?? {}) };
    // The scripted receiver knows no fixture names: it gets the checksums.
    if (receiver.infoAlsoLists !== undefined) receiver.infoAlsoLists = Object.fromEntries(Object.entries(receiver.infoAlsoLists).map(([k, v]) => [k, fx.rev(v)]));
    writeFileSync(join(dir, 'script.json'), JSON.stringify({ receiver, log: logPath }));
    env.PATH = `${bin}:${env.PATH ?? ''}`;
    env.CONFORMANCE_SCRIPT = join(dir, 'script.json');
    remote = `${SSH_HOST}:${fx.dest}`;
  }
  const peer = new Peer(fillTemplate(command, { remote, ref: c.push?.refs ?? [], source: fx.source }), { env });
  const problems = new Problems();
  try {
    peer.closeStdin();
    const code = await peer.wait(opts.timeoutMs * 2);
    if (code === 'timeout') problems.add(`the pusher did not exit within ${opts.timeoutMs * 2} ms`);
    else await problems.run(() => checkExit(c.expect.exit, code, peer.stderrTail()));
    if (transport === 'ssh') {
      let log: ReceiverLog | undefined;
      try {
        log = JSON.parse(readFileSync(logPath, 'utf8')) as ReceiverLog;
      } catch {
        problems.add(`the pusher never ran 'ssh ${SSH_HOST} ostree-receive --repo=…'${peer.stderrTail() ? ` (stderr: ${peer.stderrTail()})` : ''}`);
      }
      if (log !== undefined) {
        const skip = extensionUnused(c, log);
        if (skip !== undefined) return { skipped: skip };
        await checkLog(c, fx, log, before, peer, problems);
      }
    }
    await checkDestination(fx, c.expect, tmpBefore, true, c.level, problems);
    problems.throwIfAny();
    return {};
  } finally {
    peer.kill();
  }
}

/**
 * Pusher extension cases: the suite's receiver offers the extension, and a
 * pusher that does not use it is skipped, as a receiver that does not
 * advertise it is. Used means: `query`, a QUERY was sent; `report`, DONE
 * asked for a REPORT; `pipelining`, two PUTOBJECTs were in flight at once.
 * Only a pusher that got as far as the point of use is judged this way (it
 * sent UPDATE or DONE, or the PUTOBJECTs); one that stopped earlier fails.
 */
function extensionUnused(c: Case, log: ReceiverLog): string | undefined {
  const ext = c.requires;
  if (c.level !== 'extension' || ext === undefined) return undefined;
  const types = log.messages.map((m) => m.type);
  if (ext === 'query' && !types.includes('QUERY') && (types.includes('UPDATE') || types.includes('DONE'))) return `the pusher did not use 'query' when offered`;
  if (ext === 'report' && log.messages.some((m) => m.type === 'DONE' && m.report !== true)) return `the pusher did not ask for a REPORT when offered`;
  if (ext === 'pipelining' && log.maxInFlight < 2 && types.filter((t) => t === 'PUTOBJECT').length >= 2) return `the pusher kept one object in flight (no pipelining)`;
  return undefined;
}

async function checkLog(c: Case, fx: BuiltFixture, log: ReceiverLog, before: (o: ObjectName) => boolean, peer: Peer, problems: Problems): Promise<void> {
  if (log.repo !== fx.dest) problems.add(`the receiver was started with --repo=${log.repo}, not the remote's path ${fx.dest}`);
  const types = log.messages.map((m) => m.type);
  if (c.expect.messages !== undefined && !matchTypes(c.expect.messages, types)) {
    problems.add(`the pusher sent ${types.join(' ') || 'nothing'}; expected ${c.expect.messages.join(' ')}`);
  }
  if (c.expect.update !== undefined) {
    const want = Object.fromEntries(Object.entries(c.expect.update).map(([k, [f, t]]) => [k, [fx.rev(f), fx.rev(t)]]));
    const got = log.messages.find((m) => m.type === 'UPDATE')?.refs;
    if (JSON.stringify(sortKeys(got ?? {})) !== JSON.stringify(sortKeys(want))) problems.add(`UPDATE was ${JSON.stringify(got)}; expected ${JSON.stringify(want)}`);
  }
  if (c.expect.sent !== undefined) problems.add(...(await checkSent(c, fx, log, before, c.expect.sent)));
  if (c.expect.noUpdate === true && types.includes('UPDATE')) problems.add('the pusher sent UPDATE; it must refuse before asking the receiver for anything');
  if (c.expect.doneReport !== undefined) {
    const done = log.messages.find((m) => m.type === 'DONE');
    if (done === undefined) problems.add('the pusher never sent DONE');
    else if (done.report !== c.expect.doneReport) problems.add(`the pusher's DONE ${done.report === true ? 'asked' : 'did not ask'} for a REPORT; expected it ${c.expect.doneReport ? 'to' : 'not to'}`);
  }
  if (c.expect.minInFlight !== undefined && log.maxInFlight < c.expect.minInFlight) {
    problems.add(`at most ${log.maxInFlight} PUTOBJECT(s) were sent before their STATUS; expected a window of at least ${c.expect.minInFlight}`);
  }
  if (c.expect.stderr !== undefined && !peer.stderr.includes(c.expect.stderr)) {
    problems.add(`the pusher's stderr does not mention ${JSON.stringify(c.expect.stderr)}${peer.stderrTail() ? ` (stderr: ${peer.stderrTail()})` : ''}`);
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Runs one pusher case over each of its transports allowed (default: ssh,
 * the only transport version 0 has). Throws CaseFailure naming the
 * transport; returns the reason when the case is skipped (an extension the
 * pusher did not use).
 */
export async function runPusherCase(c: Case, command: string, opts: RunOptions & { transports?: readonly ('ssh' | 'local')[] }): Promise<{ skipped?: string }> {
  const allowed = opts.transports ?? DEFAULT_TRANSPORTS;
  for (const t of (c.push?.transports ?? ['ssh', 'local']).filter((x) => allowed.includes(x))) {
    try {
      const r = await runOnce(c, command, t, opts);
      if (r.skipped !== undefined) return r;
    } catch (e) {
      if (e instanceof CaseFailure) throw new CaseFailure(e.problems.map((p) => `[${t}] ${p}`));
      throw e;
    }
  }
  return {};
}

/** Version 0 reaches a remote through ssh only; the local-path remote is this project's. */
export const DEFAULT_TRANSPORTS: readonly ('ssh' | 'local')[] = ['ssh'];
