import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../../testkit/tmp.js';
import { currentOwner } from '../repo/process-identity.js';
import { makeSessionDir, sweepDeadSessionDirs } from './session-dir.js';

/** The pid of a process that has ended. */
function deadPid(): number {
  const out = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(out.stdout);
}

test('a session directory names its owner (pid, boot id, start time, host) and is removed by its session', (t) => {
  const parent = tmpDir(t, 'sessions');
  const dir = makeSessionDir(parent);
  assert.match(dir.path, new RegExp(`ostree-push-bucket-${process.pid}-[0-9a-f]+$`));
  const owner = JSON.parse(readFileSync(join(dir.path, 'owner.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(owner, { ...currentOwner(), host: hostname() });
  dir.remove();
  assert.deepEqual(readdirSync(parent), []);
});

test('the sweep removes the directories of dead owners only: never a live one\'s, another host\'s, a name it did not make, a link, or a file', (t) => {
  const parent = tmpDir(t, 'sessions');
  const live = makeSessionDir(parent);
  t.after(() => live.remove());
  const dead = deadPid();
  const me = currentOwner();
  const make = (name: string, owner?: object): string => {
    mkdirSync(join(parent, name));
    if (owner !== undefined) writeFileSync(join(parent, name, 'owner.json'), JSON.stringify(owner));
    mkdirSync(join(parent, name, 'repo'));
    return name;
  };
  const deadOwner = make(`ostree-push-bucket-${dead}-aa`, { ...me, pid: dead, host: hostname() });
  // The pid alive but another process now (its start time differs): dead too.
  const reused = make(`ostree-push-bucket-${process.pid}-bb`, { ...me, startTicks: me.startTicks + 1, host: hostname() });
  const noOwnerDead = make(`ostree-push-bucket-${dead}-cc`);
  const noOwnerLive = make(`ostree-push-bucket-${process.pid}-dd`);
  const otherHost = make(`ostree-push-bucket-${dead}-ee`, { ...me, pid: dead, host: `not-${hostname()}` });
  const oldForm = make('ostree-push-bucket-Ab3xYz');
  const unrelated = make(`ostree-push-other-${dead}-ff`, { ...me, pid: dead });
  writeFileSync(join(parent, `ostree-push-bucket-${dead}-01`), 'a file');
  const target = make('target');
  symlinkSync(join(parent, target), join(parent, `ostree-push-bucket-${dead}-02`));
  const removed = sweepDeadSessionDirs(parent).sort();
  assert.deepEqual(removed, [deadOwner, reused, noOwnerDead].sort());
  for (const name of removed) assert.equal(existsSync(join(parent, name)), false);
  const left = readdirSync(parent).sort();
  for (const name of [live.path.slice(parent.length + 1), noOwnerLive, otherHost, oldForm, unrelated, `ostree-push-bucket-${dead}-01`, `ostree-push-bucket-${dead}-02`, target]) {
    assert.ok(left.includes(name), `${name} is left`);
  }
  assert.ok(existsSync(join(parent, target, 'repo')), 'nothing removed through the link');
});
