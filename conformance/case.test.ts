/**
 * The suite's own consistency, without running anything: case files valid
 * under the schema, ids unique, every machine transition driven by a case
 * or listed with a reason, the README's case list fresh, and the weakened
 * 2015 implementation's expectations and its model's mutants covering
 * every hardened receiver case.
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

  it('include the byte vectors as cases, both byte orders, core but for strict body decoding', () => {
    const v = vectorCases();
    assert.ok(v.some((c) => c.id.endsWith('-be')) && v.some((c) => c.id.endsWith('-le')));
    assert.ok(v.filter((c) => c.id.includes('vector-reject-')).length >= 10);
    // Strict body decoding of a message a receiver reads is this project's tightening, not version 0.
    assert.deepEqual(v.filter((c) => c.level !== 'core').map((c) => c.id).sort(), [
      'receiver/vector-reject-body-not-a-sv-in-be',
      'receiver/vector-reject-putobject-size-as-x-be',
      'receiver/vector-reject-update-value-as-as',
    ]);
    assert.ok(v.filter((c) => c.level !== 'core').every((c) => c.level === 'hardened'));
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

describe('expectations of the 2015 implementation and its model', () => {
  const hardened = selectCases(cases, { receiver: 'x', level: 'hardened' }).filter((c) => c.level === 'hardened');
  const v0 = readExpectations(fileURLToPath(new URL('./expectations/v0-2015.json', import.meta.url)));
  const mutants = (JSON.parse(readFileSync(fileURLToPath(new URL('./expectations/legacy-mutants.json', import.meta.url)), 'utf8')) as { mutants: Record<string, Record<string, string>> }).mutants;
  it('every hardened receiver case without a capability fails against the 2015 model or one of its single-weakness mutants', () => {
    const shown = new Set([...Object.keys(v0.failures), ...Object.values(mutants).flatMap((m) => Object.keys(m))]);
    assert.deepEqual(hardened.filter((c) => c.requires === undefined && !shown.has(c.id)).map((c) => c.id), []);
  });
  it('expects no core receiver case to fail, and lists only cases that exist', () => {
    const ids = new Set(cases.map((c) => c.id));
    for (const id of [...Object.keys(v0.failures), ...Object.values(mutants).flatMap((m) => Object.keys(m))]) assert.ok(ids.has(id), id);
    assert.deepEqual(Object.keys(v0.failures).filter((id) => cases.find((c) => c.id === id)?.level === 'core'), []);
  });
  it('lists as skipped, with a reason, exactly the hardened receiver cases that need a capability', () => {
    const skipped = v0.skipped ?? {};
    assert.deepEqual(Object.keys(skipped).sort(), hardened.filter((c) => c.requires !== undefined).map((c) => c.id).sort());
    for (const [id, why] of Object.entries(skipped)) assert.match(why, /requires '[a-z-]+'/, id);
  });
});
