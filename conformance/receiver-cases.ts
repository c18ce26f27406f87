/**
 * Receiver cases: the suite plays the pusher against the command under test
 * (which speaks the protocol on stdin/stdout for {repo}) by interpreting a
 * case's steps (spec/conformance-case.schema.json `step`), then checks what
 * the session left behind (outcome.ts).
 *
 * A refusal ends the script the way spec/protocol.md §4 says a pusher must:
 * when an answer is a refusal (STATUS false, or the receiver ending the
 * session where the step allows it), the suite sends DONE and skips the rest.
 */
import { createReadStream, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Variant } from '../src/gvariant/index.js';
import { objectBasename, objectRelPath, type ObjectName } from '../src/repo/index.js';
import { encodeInfo, encodeMessage, MAX_BODY_SIZE, type InfoMessage, type Message } from '../src/wire/index.js';
import type { Case, Step, StatusExpect } from './case.js';
import { buildFixture, destRefs, hasObject, type BuiltFixture } from './fixture.js';
import { checkDestination, checkExit, tmpEntries } from './outcome.js';
import { CaseFailure, fillTemplate, Peer, Problems } from './process.js';

export interface RunOptions {
  /** Scratch directory for this case (exists, empty). */
  dir: string;
  /** Default answer deadline in ms. */
  timeoutMs: number;
  /** Capabilities seen in INFO are reported here (extension cases). */
  env?: NodeJS.ProcessEnv;
}

const NO_EXTRA = new Map<string, Variant>();

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

class Session {
  refused = false;
  ended = false;
  capabilities: string[] = [];
  /** Directories put in the way of objects' files by `block` steps; removed before the outcome is checked. */
  readonly blockers: string[] = [];
  /** Objects already sent in this session: a version-0 pusher never sends one twice, so neither does the suite. */
  readonly sent = new Set<string>();
  constructor(
    readonly peer: Peer,
    readonly fx: BuiltFixture,
    readonly timeoutMs: number,
  ) {}

  async send(m: Message, order: 'le' | 'be' = 'le'): Promise<void> {
    await this.peer.write(encodeMessage(m, order));
  }

  /** Reads the answer a step expects; sets `refused` on a refusal. */
  async answer(expect: StatusExpect, what: string, timeoutMs = this.timeoutMs): Promise<void> {
    if (expect === 'none') return;
    const r = await this.peer.next(timeoutMs);
    if (r === 'timeout') throw new CaseFailure(`no answer to ${what} within ${timeoutMs} ms (expected ${expect})`);
    if (r === null) {
      this.ended = true;
      if (expect === 'refused') {
        this.refused = true;
        return;
      }
      throw new CaseFailure(`the receiver ended the session after ${what}; expected ${expect === 'refusedStatus' ? 'STATUS false with a message' : 'a STATUS'}`);
    }
    if (r.message.type !== 'STATUS') throw new CaseFailure(`${what} was answered by ${r.message.type}, not STATUS`);
    const { result, message } = r.message;
    if (result) {
      if (expect === 'ok' || expect === 'any') return;
      throw new CaseFailure(`${what} was accepted (STATUS true); it must be refused`);
    }
    if (expect === 'ok') throw new CaseFailure(`${what} was refused: ${JSON.stringify(message)}`);
    if (expect === 'refusedStatus' && message.trim() === '') throw new CaseFailure(`${what} was refused with an empty message; a refusal must say why`);
    this.refused = true;
  }

  /** After a refusal a pusher sends DONE (spec/protocol.md §4 step 3). */
  async finishRefusal(): Promise<void> {
    if (!this.ended) await this.send({ type: 'DONE', extra: NO_EXTRA });
  }

  /** The next message, which must be of type `type` (ANSWER, REPORT). */
  async expectMessage<T extends Message['type']>(type: T, what: string, timeoutMs = this.timeoutMs): Promise<Extract<Message, { type: T }>> {
    const r = await this.peer.next(timeoutMs);
    if (r === 'timeout') throw new CaseFailure(`no ${type} to ${what} within ${timeoutMs} ms`);
    if (r === null) throw new CaseFailure(`the receiver ended the session instead of sending ${type} to ${what}${this.peer.stderrTail() ? ` (stderr: ${this.peer.stderrTail()})` : ''}`);
    if (r.message.type !== type) throw new CaseFailure(`${what} was answered by ${r.message.type}, not ${type}`);
    return r.message as Extract<Message, { type: T }>;
  }

  async putObject(o: ObjectName, name: string, step: Step, flip?: number): Promise<void> {
    const path = this.fx.sourcePath(o);
    const order = step.order ?? 'le';
    if (flip !== undefined) step = { ...step, flip };
    const mutated = step.flip !== undefined || step.truncate !== undefined;
    if (!mutated && step.size === undefined && name === objectBasename(o.checksum, o.type)) this.sent.add(name);
    if (step.size !== undefined) {
      await this.send({ type: 'PUTOBJECT', object: name, size: BigInt(step.size), extra: NO_EXTRA }, order);
      return;
    }
    if (mutated) {
      let bytes = new Uint8Array(readFileSync(path));
      if (step.flip !== undefined) {
        const i = step.flip < 0 ? bytes.length + step.flip : step.flip;
        bytes[i] = (bytes[i] ?? 0) ^ 0xff;
      }
      if (step.truncate !== undefined) bytes = bytes.subarray(0, Math.max(0, bytes.length - step.truncate));
      await this.send({ type: 'PUTOBJECT', object: name, size: BigInt(bytes.length), extra: NO_EXTRA }, order);
      await this.peer.write(bytes);
      return;
    }
    const size = statSync(path).size;
    await this.send({ type: 'PUTOBJECT', object: name, size: BigInt(size), extra: NO_EXTRA }, order);
    // Streamed, never read whole: objects may be large.
    let sent = 0;
    const limit = step.cutAfter ?? Number.POSITIVE_INFINITY;
    for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, Math.max(0, Math.min(chunk.length, limit - sent)));
      if (part.length > 0 && !(await this.peer.write(part))) return;
      sent += part.length;
      if (sent >= limit) break;
    }
    if (step.cutAfter !== undefined) this.peer.closeStdin();
  }
}

async function runStep(s: Session, step: Step, c: Case): Promise<void> {
  const fx = s.fx;
  switch (step.op) {
    case 'info': {
      const r = await s.peer.next(step.timeoutMs ?? s.timeoutMs);
      if (r === 'timeout') throw new CaseFailure(`no INFO within ${step.timeoutMs ?? s.timeoutMs} ms`);
      if (r === null) throw new CaseFailure(`the receiver closed without sending INFO${s.peer.stderrTail() ? ` (stderr: ${s.peer.stderrTail()})` : ''}`);
      if (r.message.type !== 'INFO') throw new CaseFailure(`the first message is ${r.message.type}, not INFO`);
      const caps = r.message.extra.get('capabilities');
      s.capabilities = caps?.type === 'as' ? (caps.value as string[]) : [];
      if (step.truncated !== undefined) checkTruncation(r.message, step.truncated, destRefs(fx.dest));
      if (step.mode !== undefined && r.message.mode !== step.mode) throw new CaseFailure(`INFO mode is ${r.message.mode}, expected ${step.mode}`);
      if (step.refCount !== undefined && r.message.refs.size !== step.refCount) throw new CaseFailure(`INFO lists ${r.message.refs.size} refs, expected ${step.refCount}`);
      if (step.refs !== undefined) {
        const want = Object.entries(step.refs).map(([k, v]) => `${k}=${fx.rev(v as string)}`).sort();
        const got = [...r.message.refs].map(([k, v]) => `${k}=${v}`).sort();
        if (want.join(' ') !== got.join(' ')) throw new CaseFailure(`INFO refs are {${got.map(shortRef).join(', ')}}, expected {${want.map(shortRef).join(', ')}}`);
      }
      return;
    }
    case 'update': {
      const refs = new Map<string, { from: string; to: string }>();
      for (const [name, v] of Object.entries(step.refs ?? {})) {
        const [from, to] = v as [string, string];
        refs.set(name, { from: fx.rev(from), to: fx.rev(to) });
      }
      await s.send({ type: 'UPDATE', refs }, step.order);
      await s.answer(step.status ?? 'ok', 'UPDATE', step.timeoutMs);
      return;
    }
    case 'query': {
      const names: string[] = [];
      const want: boolean[] = [];
      for (const sel of step.objects ?? []) {
        for (const o of await fx.objects(sel)) {
          names.push(objectBasename(o.checksum, o.type));
          want.push(hasObject(fx.dest, o));
        }
      }
      const asked = step.queryRefs ?? [];
      const present = destRefs(fx.dest);
      const wantRefs = asked.filter((n) => present[n] !== undefined).map((n) => `${n}=${present[n] as string}`).sort();
      await s.send({ type: 'QUERY', objects: names, refs: asked, extra: NO_EXTRA }, step.order);
      if (step.status === 'none') return;
      const a = await s.expectMessage('ANSWER', 'QUERY', step.timeoutMs);
      if (a.have.length !== names.length) throw new CaseFailure(`ANSWER has ${a.have.length} 'have' flags for ${names.length} objects asked about`);
      const wrong = names.map((n, i) => [n, want[i], a.have[i]] as const).filter(([, w, g]) => w !== g);
      if (wrong.length > 0) throw new CaseFailure(`ANSWER 'have' is wrong for ${wrong.map(([n, w]) => `${n.slice(0, 12)}…${n.slice(64)} (the store ${w === true ? 'holds' : 'lacks'} it)`).join(', ')}`);
      const gotRefs = [...a.refs].map(([k, v]) => `${k}=${v}`).sort();
      if (gotRefs.join(' ') !== wantRefs.join(' ')) throw new CaseFailure(`ANSWER refs are {${gotRefs.map(shortRef).join(', ')}}, expected {${wantRefs.map(shortRef).join(', ')}}`);
      return;
    }
    case 'pipeline': {
      // Every object is written before any STATUS is read (section 12.2); the replies must come back in order.
      let list = await fx.missing(step.commit as string, step.have ?? []);
      const skip = new Set<string>();
      for (const sel of step.skip ?? []) for (const o of await fx.objects(sel)) skip.add(objectBasename(o.checksum, o.type));
      list = list.filter((o) => !skip.has(objectBasename(o.checksum, o.type)) && !s.sent.has(objectBasename(o.checksum, o.type)));
      const bad = step.corrupt === undefined ? undefined : ((await fx.objects(step.corrupt)).at(-1) as ObjectName);
      const badName = bad === undefined ? undefined : objectBasename(bad.checksum, bad.type);
      if (badName !== undefined && !list.some((o) => objectBasename(o.checksum, o.type) === badName)) throw new CaseFailure(`${c.id}: ${step.corrupt} is not among the objects sent`);
      for (const o of list) {
        const name = objectBasename(o.checksum, o.type);
        await s.putObject(o, name, step, name === badName ? Math.floor(statSync(fx.sourcePath(o)).size / 2) : undefined);
      }
      let seenBad = false;
      for (const [i, o] of list.entries()) {
        const name = objectBasename(o.checksum, o.type);
        const isBad = name === badName;
        const expect: StatusExpect = isBad ? 'refusedStatus' : seenBad ? (step.afterRefusal ?? 'refused') : (step.status ?? 'ok');
        await s.answer(expect, `pipelined PUTOBJECT #${i + 1} ${name.slice(0, 12)}….${o.type}${isBad ? ' (corrupt)' : seenBad ? ' (in flight after the refusal)' : ''}`, step.timeoutMs);
        seenBad ||= isBad;
        if (s.ended) break;
      }
      return;
    }
    case 'objects': {
      let list = await fx.missing(step.commit as string, step.have ?? []);
      const skip = new Set<string>();
      for (const sel of step.skip ?? []) for (const o of await fx.objects(sel)) skip.add(objectBasename(o.checksum, o.type));
      // Two commits may share objects (an empty dirmeta, say): each is sent once per session.
      list = list.filter((o) => !skip.has(objectBasename(o.checksum, o.type)) && !s.sent.has(objectBasename(o.checksum, o.type)));
      if (step.sequence === 'parentFirst') list.reverse();
      if (step.limit !== undefined) list = list.slice(0, step.limit);
      for (const o of list) {
        const name = objectBasename(o.checksum, o.type);
        await s.putObject(o, name, step);
        await s.answer(step.status ?? 'ok', `PUTOBJECT ${name.slice(0, 12)}….${o.type}`, step.timeoutMs);
        if (s.refused) return;
      }
      return;
    }
    case 'put': {
      const objs = await fx.objects(step.object as string);
      const o = objs[objs.length - 1] as ObjectName;
      let name = objectBasename(o.checksum, o.type);
      if (step.nameAs !== undefined) {
        const other = (await fx.objects(step.nameAs)).at(-1) as ObjectName;
        name = objectBasename(other.checksum, other.type);
      }
      if (step.name !== undefined) name = step.name;
      await s.putObject(o, name, step);
      await s.answer(step.status ?? (step.cutAfter !== undefined ? 'none' : 'ok'), `PUTOBJECT ${JSON.stringify(name.length > 30 ? `${name.slice(0, 12)}…${name.slice(64)}` : name)}`, step.timeoutMs);
      return;
    }
    case 'done': {
      if (step.report !== true) {
        await s.send({ type: 'DONE', extra: NO_EXTRA }, step.order);
        return;
      }
      await s.send({ type: 'DONE', extra: new Map([['report', new Variant('b', true)]]) }, step.order);
      const rep = await s.expectMessage('REPORT', 'DONE with report=true', step.timeoutMs);
      const moved = [...rep.moved].sort();
      const refused = [...rep.refused.keys()].sort();
      if (step.reportMoved !== undefined && moved.join(' ') !== [...step.reportMoved].sort().join(' ')) throw new CaseFailure(`REPORT moved [${moved.join(', ')}], expected [${[...step.reportMoved].sort().join(', ')}]`);
      if (step.reportRefused !== undefined && refused.join(' ') !== [...step.reportRefused].sort().join(' ')) throw new CaseFailure(`REPORT refused [${refused.join(', ')}], expected [${[...step.reportRefused].sort().join(', ')}]`);
      const silent = [...rep.refused].filter(([, why]) => why.trim() === '').map(([k]) => k);
      if (silent.length > 0) throw new CaseFailure(`REPORT refuses ${silent.join(', ')} without a reason`);
      const both = moved.filter((m) => rep.refused.has(m));
      if (both.length > 0) throw new CaseFailure(`REPORT lists ${both.join(', ')} as both moved and refused`);
      return;
    }
    case 'raw':
      await s.peer.write(hex(step.hex ?? ''));
      await s.answer(step.status ?? 'none', 'the raw bytes', step.timeoutMs);
      return;
    case 'cut':
      s.peer.closeStdin();
      return;
    case 'setRef': {
      // Another writer moves the ref while the session is open (temp file + rename, as ostree does).
      const path = join(fx.dest, 'refs', 'heads', step.ref as string);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.conformance-tmp`, `${fx.rev(step.to as string)}\n`);
      renameSync(`${path}.conformance-tmp`, path);
      return;
    }
    case 'block': {
      // A non-empty directory where the object's file goes: renaming a file onto it fails (EISDIR / ENOTEMPTY).
      for (const o of await fx.objects(step.object as string)) {
        const path = join(fx.dest, objectRelPath(o.checksum, o.type));
        mkdirSync(join(path, 'blocker'), { recursive: true });
        s.blockers.push(path);
      }
      return;
    }
    case 'expectEnd': {
      const r = await s.peer.next(step.timeoutMs ?? s.timeoutMs);
      if (r === 'timeout') throw new CaseFailure(`the receiver did not end the session within ${step.timeoutMs ?? s.timeoutMs} ms`);
      if (r !== null) throw new CaseFailure(`unexpected ${r.message.type} where the session should end`);
      s.ended = true;
      return;
    }
  }
  throw new CaseFailure(`${c.id}: unknown step ${JSON.stringify(step)}`);
}

/**
 * INFO's `refs-truncated` (spec/protocol.md section 12.5): when set, `refs`
 * must be the longest prefix of the repository's refs, in name (byte) order,
 * that fits one body with INFO's other keys; when not, every ref is listed
 * (checked by the step's `refs`/`refCount`).
 */
function checkTruncation(info: InfoMessage, want: boolean, all: Record<string, string>): void {
  const flag = info.extra.get('refs-truncated');
  const got = flag?.type === 'b' && flag.value === true;
  if (got !== want) throw new CaseFailure(`INFO refs-truncated is ${flag === undefined ? 'absent' : JSON.stringify(flag.value)}; expected ${want}`);
  if (!want) return;
  const sorted = Object.entries(all).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const listed = [...info.refs].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const n = listed.length;
  if (n === 0 || n >= sorted.length) throw new CaseFailure(`a truncated INFO lists ${n} of ${sorted.length} refs`);
  for (const [i, [k, v]] of listed.entries()) {
    const [wk, wv] = sorted[i] as [string, string];
    if (k !== wk || v !== wv) throw new CaseFailure(`INFO ref #${i + 1} is ${k}, expected ${wk} (a name-ordered prefix of the refs, with their commits)`);
  }
  const onemore: InfoMessage = { ...info, refs: new Map(sorted.slice(0, n + 1)) };
  let fitsOneMore: boolean;
  try {
    fitsOneMore = encodeInfo(onemore).length <= MAX_BODY_SIZE;
  } catch {
    fitsOneMore = false;
  }
  if (fitsOneMore) throw new CaseFailure(`INFO lists ${n} refs but ${n + 1} would fit one body: not the longest prefix`);
}

function shortRef(s: string): string {
  const [k, v] = s.split('=');
  return `${k}: ${(v ?? '').slice(0, 12)}…`;
}

export interface CaseRun {
  /** Capabilities the implementation advertised in INFO. */
  capabilities: string[];
}

/**
 * Runs one receiver case against `command` (a template with {repo}). Throws
 * CaseFailure listing every failed check: a failed step ends the exchange
 * (what follows depends on it), then the exit status and the destination
 * are still checked, so a case that fails for two reasons says both.
 */
export async function runReceiverCase(c: Case, command: string, opts: RunOptions): Promise<CaseRun> {
  const fx = await buildFixture(opts.dir, c.fixture);
  const tmpBefore = tmpEntries(fx.dest);
  const peer = new Peer(fillTemplate(command, { repo: fx.dest }), { env: opts.env ?? process.env });
  const s = new Session(peer, fx, opts.timeoutMs);
  const problems = new Problems();
  try {
    const exchanged = await problems.run(async () => {
      for (const step of c.steps ?? []) {
        await runStep(s, step, c);
        if (s.refused && step.continueAfterRefusal === true) s.refused = false;
        else if (s.refused) {
          await s.finishRefusal();
          break;
        }
      }
    });
    // Close our end, then nothing more may arrive before the receiver's eof.
    if (!peer.stdinClosed) peer.closeStdin();
    // After a cut (or a failed step), answers to what was sent before may still arrive (STATUS, ANSWER).
    const cut = !exchanged || (c.steps ?? []).some((st) => st.op === 'cut' || st.cutAfter !== undefined);
    await problems.run(async () => {
      while (!s.ended) {
        const r = await peer.next(opts.timeoutMs);
        if (r === 'timeout') throw new CaseFailure(`the receiver did not end the session within ${opts.timeoutMs} ms of the pusher closing`);
        if (r === null) break;
        if (!(cut && (r.message.type === 'STATUS' || r.message.type === 'ANSWER'))) throw new CaseFailure(`unexpected ${r.message.type} after the exchange`);
      }
    });
    const code = await peer.wait(opts.timeoutMs);
    if (code === 'timeout') problems.add(`the receiver did not exit within ${opts.timeoutMs} ms`);
    else await problems.run(() => checkExit(c.expect.exit, code, peer.stderrTail()));
    for (const b of s.blockers) rmSync(b, { recursive: true, force: true });
    await checkDestination(fx, c.expect, tmpBefore, (c.fixture.dest?.mode ?? 'archive') === 'archive', c.level, problems);
    problems.throwIfAny();
    return { capabilities: s.capabilities };
  } finally {
    peer.kill();
  }
}
