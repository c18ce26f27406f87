/**
 * Conformance cases as data (spec/conformance-case.schema.json): loading,
 * validation, and the cases derived from the byte vectors of
 * conformance/vectors/. The case files under conformance/cases/ are the
 * suite; this module only reads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import schema from '../spec/conformance-case.schema.json' with { type: 'json' };
import { UsageError } from '../src/errors.js';

type AjvClass = typeof Ajv2020Module.default;
const Ajv2020: AjvClass = (Ajv2020Module as unknown as { default?: AjvClass }).default ?? (Ajv2020Module as unknown as AjvClass);

export type Level = 'core' | 'hardened' | 'extension';
/** Levels of a run's results: the case levels, plus the codec byte vectors (vectors.ts). */
export type ResultLevel = Level | 'vectors';
export type Role = 'receiver' | 'pusher';
export type StatusExpect = 'ok' | 'refused' | 'refusedStatus' | 'any' | 'none';
export type ExitClass = 'zero' | 'nonzero' | 'any';

export type TreeEntry = string | { content?: string; repeat?: number; mode?: number; symlink?: string; dir?: true };
export interface CommitSpec {
  tree: Record<string, TreeEntry>;
  parent?: string;
  subject?: string;
  timestamp?: number;
  commitmeta?: Record<string, string>;
}
export interface Fixture {
  commits: Record<string, CommitSpec>;
  source?: Record<string, string>;
  dest?: {
    mode?: 'archive' | 'bare' | 'none';
    refs?: Record<string, string>;
    objects?: string[];
    manyRefs?: { count: number; prefix?: string; to: string };
  };
}

export interface Step {
  op: 'info' | 'update' | 'query' | 'objects' | 'pipeline' | 'put' | 'done' | 'raw' | 'cut' | 'setRef' | 'block' | 'expectEnd';
  order?: 'le' | 'be';
  status?: StatusExpect;
  timeoutMs?: number;
  mode?: number;
  refs?: Record<string, string | [string, string]>;
  refCount?: number;
  commit?: string;
  have?: string[];
  sequence?: 'childFirst' | 'parentFirst';
  skip?: string[];
  limit?: number;
  object?: string;
  name?: string;
  nameAs?: string;
  flip?: number;
  truncate?: number;
  size?: number;
  cutAfter?: number;
  hex?: string;
  ref?: string;
  to?: string;
  continueAfterRefusal?: boolean;
  truncated?: boolean;
  objects?: string[];
  queryRefs?: string[];
  corrupt?: string;
  afterRefusal?: StatusExpect;
  report?: boolean;
  reportMoved?: string[];
  reportRefused?: string[];
}

export interface ScriptedReceiver {
  infoHex?: string;
  infoOrder?: 'le' | 'be';
  mode?: number;
  answerOrder?: 'le' | 'be';
  refuseUpdate?: string;
  refuseObject?: number;
  closeAfter?: 'INFO' | 'QUERY' | 'UPDATE' | 'PUTOBJECT' | 'DONE';
  noInfo?: true;
  updateAnswerHex?: string;
  capabilities?: ('query' | 'report')[];
  infoAlsoLists?: Record<string, string>;
  infoOmits?: string[];
  holdReplies?: number;
  badStatusAt?: number;
  badAnswer?: true;
  badReport?: true;
  reportRefuse?: string;
  closeAfterRefusal?: true;
}

export interface Expect {
  exit?: ExitClass;
  refs?: Record<string, string>;
  present?: string[];
  absent?: string[];
  clean?: boolean;
  fsck?: boolean;
  messages?: string[];
  update?: Record<string, [string, string]>;
  sent?: 'closure' | 'missingChildFirst';
  /** Pusher cases: the pusher must not send UPDATE at all. */
  noUpdate?: boolean;
  doneReport?: boolean;
  minInFlight?: number;
  stderr?: string;
}

export interface Case {
  id: string;
  level: Level;
  role: Role;
  summary: string;
  covers: string[];
  requires?: string;
  /** Resolved: named fixtures are replaced by their definition on load. */
  fixture: Fixture;
  steps?: Step[];
  receiver?: ScriptedReceiver;
  push?: { refs: string[]; transports?: ('ssh' | 'local')[] };
  expect: Expect;
  /** The file it came from, relative to conformance/. */
  file: string;
}

interface CaseFile {
  fixtures?: Record<string, Fixture>;
  cases: (Omit<Case, 'fixture' | 'file'> & { fixture: string | Fixture })[];
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const CASES_DIR = `${HERE}cases/`;
export const VECTORS_DIR = `${HERE}vectors/`;

let validator: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

/** Validates one case file's JSON; returns the problems as lines (empty: valid). */
export function validateCaseFile(data: unknown): string[] {
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    validator = ajv.compile(schema);
  }
  if (validator(data)) return [];
  const errors = (validator.errors ?? []) as { instancePath: string; message?: string }[];
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** Every case of conformance/cases/*.json plus those derived from the vectors, in a stable order. */
export function loadCases(dir = CASES_DIR): Case[] {
  const out: Case[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const data = JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as unknown;
    const problems = validateCaseFile(data);
    if (problems.length > 0) throw new UsageError('CONFORMANCE_BAD_CASE', `cases/${name}: ${problems.slice(0, 5).join('; ')}`, { file: name });
    const file = data as CaseFile;
    for (const c of file.cases) {
      const fixture = typeof c.fixture === 'string' ? file.fixtures?.[c.fixture] : c.fixture;
      if (fixture === undefined) throw new UsageError('CONFORMANCE_BAD_CASE', `cases/${name}: ${c.id}: no fixture named '${String(c.fixture)}'`, { file: name });
      out.push({ ...c, fixture, file: `cases/${name}` });
    }
  }
  out.push(...vectorCases());
  const seen = new Set<string>();
  for (const c of out) {
    if (seen.has(c.id)) throw new UsageError('CONFORMANCE_BAD_CASE', `duplicate case id ${c.id}`, { id: c.id });
    seen.add(c.id);
  }
  return out;
}

interface MessageVector {
  name: string;
  order: 'le' | 'be';
  hex: string;
  message: { type: string; refs?: Record<string, unknown> };
}
interface RejectVector {
  name: string;
  hex: string;
  code: string;
}

const EMPTY_FIXTURE: Fixture = { commits: {} };
const VECTOR_FIXTURE: Fixture = { commits: { c1: { tree: { README: 'vector\n' }, timestamp: 1_700_000_000 } }, source: { main: 'c1' } };

/**
 * The byte vectors as core cases. Against a receiver: the pusher-sent valid
 * vectors (DONE, UPDATE) must be framed and answered, and every must-reject
 * stream must end the session without publishing. Against a pusher: the
 * receiver-sent INFO vectors with no refs, in both byte orders, must be
 * understood well enough to push.
 */
export function vectorCases(dir = VECTORS_DIR): Case[] {
  const messages = (JSON.parse(readFileSync(`${dir}messages.json`, 'utf8')) as { vectors: MessageVector[] }).vectors;
  const rejects = (JSON.parse(readFileSync(`${dir}messages-reject.json`, 'utf8')) as { vectors: RejectVector[] }).vectors;
  const file = 'vectors/messages.json';
  const out: Case[] = [];
  for (const v of messages) {
    const base = { level: 'core' as const, file, covers: [] as string[] };
    if (v.message.type === 'DONE') {
      out.push({
        ...base,
        id: `receiver/vector-${v.name.toLowerCase()}`,
        role: 'receiver',
        summary: `vector ${v.name}: DONE right after INFO ends the session idle, exit 0`,
        covers: ['receiver:awaitRequest->recv:DONE->idle'],
        fixture: EMPTY_FIXTURE,
        steps: [{ op: 'info' }, { op: 'raw', hex: v.hex }, { op: 'expectEnd' }],
        expect: { exit: 'zero', refs: {} },
      });
    } else if (v.message.type === 'UPDATE') {
      out.push({
        ...base,
        id: `receiver/vector-${v.name.toLowerCase()}`,
        role: 'receiver',
        summary: `vector ${v.name}: the UPDATE is framed and answered with a STATUS`,
        fixture: EMPTY_FIXTURE,
        steps: [{ op: 'info' }, { op: 'raw', hex: v.hex, status: 'any' }, { op: 'done' }],
        expect: { exit: 'any', fsck: false, clean: false },
      });
    } else if (v.message.type === 'INFO' && v.message.refs !== undefined && Object.keys(v.message.refs).length === 0) {
      out.push({
        ...base,
        id: `pusher/vector-${v.name.toLowerCase()}`,
        role: 'pusher',
        summary: `vector ${v.name}: the pusher reads this INFO and pushes a new ref`,
        covers: ['pusher:awaitInfo->recv:INFO->haveInfo'],
        fixture: VECTOR_FIXTURE,
        receiver: { infoHex: v.hex },
        push: { refs: ['main'], transports: ['ssh'] },
        expect: { exit: 'zero', messages: ['UPDATE', 'PUTOBJECT*', 'DONE'], update: { main: ['zero', 'c1'] }, sent: 'closure', refs: { main: 'c1' } },
      });
    }
  }
  for (const v of rejects) out.push(rejectCase(v));
  return out;
}

const TYPE_NAMES = ['INFO', 'UPDATE', 'PUTOBJECT', 'STATUS', 'DONE', 'QUERY', 'ANSWER', 'REPORT'];
/** The message types a receiver reads (after INFO): a bad body of one of these tests body decoding. */
const RECEIVED = new Set(['UPDATE', 'PUTOBJECT', 'DONE', 'QUERY']);

/**
 * A must-reject stream as a receiver case, sent where its message type is
 * expected, so a body vector tests body decoding and not only the type:
 * after INFO, or for a PUTOBJECT after an accepted UPDATE of a new ref.
 *
 * - Framing (order byte, version, type, a short header, body or payload):
 *   core; every version-0 receiver ends the session.
 * - A bad body of a type a receiver never reads (INFO, STATUS, ANSWER,
 *   REPORT): core, honestly named: the type alone ends the session.
 * - A bad body of a type a receiver reads (a mistyped value, a body not in
 *   normal form): hardened. Version 0 as the 2015 implementation speaks it
 *   loads bodies leniently (GLib's non-normal forms, values of any type);
 *   strict decoding is this project's (spec/protocol.md section 3).
 */
function rejectCase(v: RejectVector): Case {
  const typeByte = v.hex.length >= 6 ? Number.parseInt(v.hex.slice(4, 6), 16) : -1;
  const type = TYPE_NAMES[typeByte] ?? `type ${typeByte}`;
  const body = v.code === 'WIRE_BAD_BODY';
  const decoding = body && RECEIVED.has(type);
  const afterUpdate = type === 'PUTOBJECT';
  const id = `receiver/vector-reject-${v.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const what = !body ? 'framing' : decoding ? `${type === 'UPDATE' ? 'an' : 'a'} ${type} body that does not decode strictly` : `a ${type}, which a receiver never reads (the type alone ends the session)`;
  const steps: Step[] = [{ op: 'info' }];
  if (afterUpdate) steps.push({ op: 'update', refs: { main: ['zero', 'c1'] }, status: 'ok' });
  steps.push({ op: 'raw', hex: v.hex });
  // A body that decodes leniently must not be acted on: the session must end at it, not wait for more.
  steps.push(decoding ? { op: 'expectEnd' } : { op: 'cut' });
  return {
    level: decoding ? 'hardened' : 'core',
    file: 'vectors/messages-reject.json',
    covers: [afterUpdate ? 'receiver:receiving->error->aborted' : 'receiver:awaitRequest->error->aborted'],
    id,
    role: 'receiver',
    summary: `must-reject vector ${v.name} (${v.code}, ${what}): the session ends, non-zero exit, nothing published`,
    fixture: afterUpdate ? VECTOR_FIXTURE : EMPTY_FIXTURE,
    steps,
    expect: { exit: 'nonzero', refs: {} },
  };
}
