/**
 * The suite's own consistency, without running anything: case files valid
 * under the schema, ids unique, every machine transition driven by a case
 * or listed with a reason, the README's case list fresh, and the weakened
 * receiver's expectations naming exactly the hardened receiver cases.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCases, validateCaseFile, vectorCases } from './case.js';
import { allTransitions, derive } from './derivation.js';
import { README, renderReadme } from './generate-readme.js';
import { readExpectations, selectCases } from './run.js';

const cases = loadCases();

describe('conformance cases', () => {
  it('load, validate and have unique ids', () => {
    assert.ok(cases.length >= 70, `${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.id)).size, cases.length);
    for (const c of cases) assert.match(c.id, new RegExp(`^${c.role}/`), c.id);
  });

  it('the schema rejects a case without an expected outcome', () => {
    const bad = { cases: [{ id: 'receiver/x', level: 'core', role: 'receiver', summary: 'missing expect', covers: [], fixture: { commits: {} }, steps: [] }] };
    assert.ok(validateCaseFile(bad).some((l) => l.includes('expect')));
    assert.deepEqual(validateCaseFile({ cases: [] }), []);
  });

  it('every level has cases for both roles where the issue asks for them', () => {
    for (const [role, level] of [['receiver', 'core'], ['receiver', 'hardened'], ['pusher', 'core']] as const) {
      assert.ok(cases.some((c) => c.role === role && c.level === level), `${role} ${level}`);
    }
  });

  it('include the byte vectors as core cases, both byte orders', () => {
    const v = vectorCases();
    assert.ok(v.some((c) => c.id.endsWith('-be')) && v.some((c) => c.id.endsWith('-le')));
    assert.ok(v.filter((c) => c.id.includes('vector-reject-')).length >= 10);
    assert.ok(v.every((c) => c.level === 'core'));
  });
});

describe('derivation from spec/machines', () => {
  const d = derive(cases);
  it('every transition has a case or a listed reason', () => {
    assert.deepEqual(d.missing, []);
  });
  it('no case claims a transition the machines lack', () => {
    assert.deepEqual(d.unknown, []);
  });
  it('nothing listed as uncoverable is covered after all', () => {
    assert.deepEqual(d.listedButCovered, []);
  });
  it('fails when a transition loses its cases', () => {
    const victim = allTransitions().find((t) => t.startsWith('receiver:') && t.includes('receiving->recv:PUTOBJECT->refuseObject')) as string;
    const stripped = cases.map((c) => ({ ...c, covers: c.covers.filter((k) => k !== victim) }));
    assert.deepEqual(derive(stripped).missing, [victim]);
  });
});

describe('conformance/README.md', () => {
  it('has the case list as generate-readme.ts renders it (run it when this fails)', () => {
    const current = readFileSync(README, 'utf8');
    assert.equal(current, renderReadme(current));
  });
});

describe('expectations/weakened.json', () => {
  const file = fileURLToPath(new URL('./expectations/weakened.json', import.meta.url));
  const hardened = selectCases(cases, { receiver: 'x', level: 'hardened' }).filter((c) => c.level === 'hardened');
  it('lists as failures exactly the hardened receiver cases that need no capability', () => {
    const listed = Object.keys(readExpectations(file).failures).sort();
    assert.deepEqual(listed, hardened.filter((c) => c.requires === undefined).map((c) => c.id).sort());
  });
  it('lists as skipped, with a reason, exactly the hardened receiver cases that need a capability', () => {
    const skipped = readExpectations(file).skipped ?? {};
    assert.deepEqual(Object.keys(skipped).sort(), hardened.filter((c) => c.requires !== undefined).map((c) => c.id).sort());
    for (const [id, why] of Object.entries(skipped)) assert.match(why, /requires '[a-z-]+'/, id);
  });
});
