/**
 * GPG signatures as OSTree stores them (spec/ostree-format.md §3.4, §6.1):
 *
 *   commitmeta / summary.sig key `ostree.gpgsigs`, type `aay`: each element a
 *   binary detached OpenPGP signature over the exact `.commit` (or `summary`)
 *   bytes; `ostree gpg-sign` appends one element per call.
 *
 * Verification runs `gpgv --keyring KEYRING SIG DATA` (exit 0 = a good
 * signature by a key in KEYRING); signing runs `gpg --batch --homedir H
 * --local-user KEY --detach-sign`. Both are child processes with a timeout
 * and a cap on what they may print, in a private scratch directory removed
 * afterwards. A missing tool is POLICY_TOOL_MISSING, never a raw ENOENT.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PolicyError } from './errors.js';

export const GPG_KEY = 'ostree.gpgsigs';
const TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 1024 * 1024;

interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

function runTool(command: string, args: readonly string[], input?: Uint8Array): Promise<ToolResult> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    const take = (into: Buffer[]) => (b: Buffer) => {
      size += b.byteLength;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else into.push(b);
    };
    child.stdout.on('data', take(out));
    child.stderr.on('data', take(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') fail(new PolicyError('POLICY_TOOL_MISSING', `${command} is not installed (apt-get install ${command === 'gpgv' ? 'gpgv' : 'gpg'}); it is needed by the configured GPG policy`, { tool: command }, { cause: e }));
      else fail(new PolicyError('POLICY_TOOL_FAILED', `cannot run ${command}: ${e.message}`, { tool: command }, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(input === undefined ? undefined : Buffer.from(input));
  });
}

function scratch(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ostree-push-gpg-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface GpgvResult {
  ok: boolean;
  /** Fingerprint of the key that made the good signature (from VALIDSIG). */
  fingerprint?: string;
  /** gpgv's own explanation when not ok (last lines of its stderr). */
  detail: string;
}

/** Checks one detached signature over `data` against the keys in `keyring` (a file made by `gpg --export`). */
export async function gpgvVerify(keyring: string, data: Uint8Array, signature: Uint8Array): Promise<GpgvResult> {
  const s = scratch();
  try {
    const sigFile = join(s.dir, 'sig');
    const dataFile = join(s.dir, 'data');
    writeFileSync(sigFile, signature);
    writeFileSync(dataFile, data);
    // An absolute keyring path: gpgv reads a bare name relative to its homedir.
    const r = await runTool('gpgv', ['--homedir', s.dir, '--status-fd', '1', '--keyring', resolve(keyring), sigFile, dataFile]);
    const status = r.stdout.toString('utf8');
    const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]+)/m.exec(status);
    const detail = r.timedOut ? 'gpgv timed out' : r.stderr.trim().split('\n').slice(-2).join('; ');
    if (r.code === 0 && valid !== null) return { ok: true, fingerprint: valid[1] as string, detail: '' };
    return { ok: false, detail };
  } finally {
    s.done();
  }
}

/** A binary detached signature over `data` by `keyId` from the keys in `homedir`. */
export async function gpgSign(homedir: string | undefined, keyId: string, data: Uint8Array): Promise<Uint8Array> {
  const home = homedir === undefined ? [] : ['--homedir', resolve(homedir)];
  // loopback + batch: a key that needs a passphrase fails at once instead of waiting for a pinentry.
  const r = await runTool('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', ...home, '--local-user', keyId, '--detach-sign', '--output', '-'], data);
  if (r.code !== 0 || r.stdout.byteLength === 0) {
    const why = r.timedOut ? 'timed out' : r.stderr.trim().split('\n').slice(-2).join('; ') || `exit status ${String(r.code ?? r.signal)}`;
    throw new PolicyError('POLICY_TOOL_FAILED', `gpg could not sign with key ${keyId} from ${homedir ?? 'the default GnuPG home'}: ${why}`, { tool: 'gpg', keyId, homedir: homedir ?? null });
  }
  return new Uint8Array(r.stdout);
}
