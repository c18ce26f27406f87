#!/usr/bin/env node
/**
 * `npm run demo`: the main job end to end, with no system package.
 *
 *   1. build a small archive repository with our commit builder;
 *   2. start an ssh server in this process (ssh2) on 127.0.0.1, with a fresh
 *      host key, accepting one fresh user key, running the receiver for
 *      `ostree-receive --repo=PATH` exec requests;
 *   3. write a known_hosts for it, and push over real SSH with the built-in
 *      transport (strict host-key checking, key auth), as
 *      `ostree-push --ssh=builtin` does;
 *   4. commit a change and push again: only the new objects travel;
 *   5. show that an unknown host key is refused, with its fingerprint;
 *   6. verify every object of the destination's commits with our verifier.
 *
 * It prints what happened and where the repositories are (kept for a look;
 * DEMO_CLEAN=1 removes them).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSshKeyPair } from '../src/transport/ssh-keygen.js';
import { commitTree, initArchiveRepo, type DirNode, listRefs, Repo, closure, ObjectSet, parentChain, verifyObject } from '../src/repo/index.js';
import { startSsh2Server } from '../testkit/ssh2-server.js';
import { fingerprint } from '../src/transport/known-hosts.js';
import { errorLines, runMain } from '../src/cli/run-main.js';
import { pushMain } from '../src/cli/push-command.js';
import { formatBytes } from '../src/cli/push-report.js';

const REF = 'demo/x86_64/stable';
const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

function content(seed: number, size: number): Uint8Array {
  // Deterministic bytes that do not compress, so "bytes sent" means something.
  const out = new Uint8Array(size);
  for (let off = 0, n = 0; off < size; off += 32, n++) {
    out.set(createHash('sha256').update(`${seed}:${n}`).digest().subarray(0, Math.min(32, size - off)), off);
  }
  return out;
}

function tree(version: number): DirNode {
  const file = (c: string | Uint8Array, mode?: number) => ({ type: 'file' as const, content: c, ...(mode === undefined ? {} : { mode }) });
  return {
    type: 'dir',
    children: {
      etc: { type: 'dir', children: { 'os-release': file(`NAME=Demo OS\nVERSION_ID=${version}\n`) } },
      usr: {
        type: 'dir',
        children: {
          bin: { type: 'dir', children: { hello: file(`#!/bin/sh\necho "hello from version ${version}"\n`, 0o100755) } },
          lib: { type: 'dir', children: Object.fromEntries([1, 2, 3, 4].map((n) => [`libdemo${n}.so`, file(content(n, 256 * 1024))])) },
          share: { type: 'dir', children: { 'release-notes.txt': file(`Version ${version}\n`.repeat(40 * version)) } },
        },
      },
    },
  };
}

interface PushSummary {
  ok: boolean;
  refs: Array<{ ref: string; old: string; new: string; status: string }>;
  objects: { sent: number; total: number };
  bytes: { sent: number };
  seconds: number;
  error: { code: string; message: string } | null;
}

async function ostreePush(args: string[]): Promise<{ code: number; summary: PushSummary | undefined; lines: string[] }> {
  const lines: string[] = [];
  let out = '';
  const code = await runMain(
    'ostree-push',
    () => pushMain(args, { err: (l) => lines.push(l), out: (s) => (out += s), env: process.env, cwd: process.cwd(), tty: process.stderr.isTTY === true }),
    { err: (l) => lines.push(l) },
  );
  return { code, summary: out === '' ? undefined : (JSON.parse(out) as PushSummary), lines };
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'ostree-push-demo-'));
  const srcPath = join(work, 'source-repo');
  const destPath = join(work, 'server', 'repo');
  const clientDir = join(work, 'client');
  mkdirSync(join(work, 'server'));
  mkdirSync(clientDir);

  say('ostree-push demo: push OSTree commits over SSH, no system packages needed');
  say(`working directory: ${work}`);
  say();

  const src = initArchiveRepo(srcPath);
  initArchiveRepo(destPath);
  const c1 = await commitTree(src, { tree: tree(1), timestamp: 1_700_000_000, branch: REF, subject: 'Demo OS 1' });
  say(`1. Built commit ${c1.commit.slice(0, 12)} on ${REF} in the source repository (archive mode).`);

  const user = generateSshKeyPair();
  const keyFile = join(clientDir, 'id_ed25519');
  writeFileSync(keyFile, user.private, { mode: 0o600 });
  const server = await startSsh2Server({ authorizedKey: user.public, baseDir: join(work, 'server') });
  const knownHosts = join(clientDir, 'known_hosts');
  writeFileSync(knownHosts, `${server.knownHostsLine}\n`);
  say(`2. Started an SSH server on 127.0.0.1:${server.port} (host key ${fingerprint(server.hostKey)}),`);
  say(`   accepting one user key; recorded its host key in ${knownHosts}.`);

  const remote = `ssh://demo@127.0.0.1:${server.port}${destPath}`;
  const pushArgs = [`--repo=${srcPath}`, '--ssh=builtin', `--identity=${keyFile}`, `--known-hosts=${knownHosts}`, '--json', remote];
  let failed = false;
  try {
    say(`3. ostree-push --ssh=builtin ${remote}`);
    const first = await ostreePush(pushArgs);
    for (const l of first.lines) say(`     ${l}`);
    if (first.code !== 0 || first.summary === undefined) throw new Error(`the first push failed (exit ${first.code})`);
    say(`   full push: ${first.summary.objects.sent} objects, ${formatBytes(first.summary.bytes.sent)} in ${first.summary.seconds.toFixed(2)} s`);

    const c2 = await commitTree(src, { tree: tree(2), timestamp: 1_700_086_400, branch: REF, parent: c1.commit, subject: 'Demo OS 2' });
    say(`4. Committed ${c2.commit.slice(0, 12)} (new /usr/bin/hello, os-release, release notes) and pushed again:`);
    const second = await ostreePush(pushArgs);
    for (const l of second.lines) say(`     ${l}`);
    if (second.code !== 0 || second.summary === undefined) throw new Error(`the incremental push failed (exit ${second.code})`);
    say(`   incremental push: ${second.summary.objects.sent} objects, ${formatBytes(second.summary.bytes.sent)}; the four unchanged libraries stayed home`);

    const stranger = join(clientDir, 'empty_known_hosts');
    writeFileSync(stranger, '');
    const refused = await ostreePush([`--repo=${srcPath}`, '--ssh=builtin', `--identity=${keyFile}`, `--known-hosts=${stranger}`, remote]);
    say(`5. The same push with a known_hosts that lacks the server: exit ${refused.code}, nothing sent:`);
    for (const l of refused.lines) say(`     ${l}`);
    if (refused.code !== 3) failed = true;

    const dest = Repo.open(destPath);
    const head = listRefs(dest).get(REF);
    let objects = 0;
    let bytes = 0;
    const seen = new ObjectSet();
    const chain = head === undefined ? [] : await parentChain(dest, head);
    for (const { checksum } of chain) {
      for await (const o of closure(dest, checksum, { seen })) {
        bytes += (await verifyObject(dest, o.checksum, o.type)).size;
        objects++;
      }
    }
    const same = head === c2.commit;
    say(`6. Verified the destination: ${REF} -> ${String(head).slice(0, 12)} (${same ? 'the same as the source' : 'NOT the source commit'}),`);
    say(`   ${chain.length} commits, ${objects} objects (${formatBytes(bytes)}) re-hashed by our verifier: all intact.`);
    if (!same || chain.length !== 2) failed = true;
  } catch (e) {
    for (const l of errorLines('demo', e)) say(l);
    failed = true;
  } finally {
    await server.close();
  }
  say();
  if (process.env['DEMO_CLEAN'] === '1') {
    rmSync(work, { recursive: true, force: true });
    say('DEMO_CLEAN=1: removed the working directory.');
  } else {
    say('Where things are:');
    say(`  source repository       ${srcPath}`);
    say(`  destination repository  ${destPath}`);
    say(`  client key, known_hosts ${clientDir}`);
    say(`  (with ostree installed: ostree --repo=${destPath} log ${REF})`);
  }
  say(failed ? 'demo: FAILED' : 'demo: OK');
  return failed ? 1 : 0;
}

process.exitCode = await main();
