/**
 * Derives what must not be written twice:
 * - the tables of spec/protocol.md, between `<!-- generated:NAME -->` and
 *   `<!-- /generated -->`, from the schemas, the machines and errors.json;
 * - src/protocol/messages.generated.ts, the body types, from the schemas;
 * - src/wire/messages.generated.ts, the messages as the wire layer decodes
 *   them (Maps, bigint, `extra`), from the same schemas;
 * - spec/machines.generated.ts, the state, event, guard, action and context
 *   names of each machine in spec/machines/, as string-literal unions and
 *   `as const` arrays (spec/machine.ts types PUSHER and RECEIVER by them);
 * - src/protocol/validators.generated.ts, the message validators compiled
 *   once here by ajv's standalone code generation, so no process compiles
 *   them (nor loads ajv's compiler) when it starts.
 *
 *   npx tsx spec/generate.ts           rewrite them all
 *   npx tsx spec/generate.ts --check   exit 1 if any is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import errorSpec from './errors.json' with { type: 'json' };
import { guardNames, type Machine } from '../src/protocol/machine.js';
import { PUSHER, RECEIVER } from './machine.js';
import { ANNOTATION_KEYWORDS, DEFS_SCHEMA, type JsonSchema, MESSAGE_SCHEMAS } from './schemas.js';
import { declarations } from './typegen.js';

export const PROTOCOL_MD = fileURLToPath(new URL('./protocol.md', import.meta.url));
export const TYPES_TS = fileURLToPath(new URL('../src/protocol/messages.generated.ts', import.meta.url));
export const MACHINE_TYPES_TS = fileURLToPath(new URL('./machines.generated.ts', import.meta.url));
export const WIRE_TYPES_TS = fileURLToPath(new URL('../src/wire/messages.generated.ts', import.meta.url));
export const VALIDATORS_TS = fileURLToPath(new URL('../src/protocol/validators.generated.ts', import.meta.url));

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => '`' + s.replace(/`/g, "'") + '`';
const table = (head: string[], rows: string[][]): string =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

const defs = DEFS_SCHEMA['$defs'] as Record<string, JsonSchema>;

/** A short JSON-side description of a property: its def name or type, and its bounds. */
function jsonShape(s: JsonSchema, local: Record<string, JsonSchema>): { shape: string; rule: string } {
  const ref = s['$ref'];
  if (typeof ref === 'string') {
    const name = ref.replace(/^.*\/\$defs\//, '');
    const target = (ref.startsWith('#') ? local[name] : defs[name]) ?? {};
    return { shape: name, rule: String(s['description'] ?? target['description'] ?? '') };
  }
  const bounds: string[] = [];
  for (const k of ['minimum', 'maximum', 'minLength', 'maxLength', 'minProperties'] as const) if (k in s) bounds.push(`${k} ${String(s[k])}`);
  let shape = String(s['type']);
  if (shape === 'object' && s['additionalProperties'] && typeof s['additionalProperties'] === 'object') {
    const names = s['propertyNames'] as JsonSchema | undefined;
    const key = names ? jsonShape(names, local).shape : 'string';
    shape = `{ ${key}: ${jsonShape(s['additionalProperties'] as JsonSchema, local).shape} }`;
  }
  return { shape: bounds.length ? `${shape} (${bounds.join(', ')})` : shape, rule: String(s['description'] ?? '') };
}

function messagesBlock(): string {
  return table(['code', 'name', 'sender', 'required keys', 'unknown keys', 'schema'], MESSAGE_SCHEMAS.map((m) => [
    String(m.code), m.name, m.sender,
    ((m.schema['required'] ?? []) as string[]).map(code).join(', ') || '—',
    m.schema['additionalProperties'] === false ? 'rejected' : 'ignored',
    `[${m.file}](messages/${m.file})`,
  ]));
}

function keysBlock(): string {
  const rows: string[][] = [];
  for (const m of MESSAGE_SCHEMAS) {
    const local = (m.schema['$defs'] ?? {}) as Record<string, JsonSchema>;
    for (const [key, s] of Object.entries((m.schema['properties'] ?? {}) as Record<string, JsonSchema>)) {
      const { shape, rule } = jsonShape(s, local);
      rows.push([m.name, code(key), code(String(s['x-gvariant'] ?? '')), shape, rule]);
    }
    for (const [name, d] of Object.entries(local)) {
      for (const [key, s] of Object.entries((d['properties'] ?? {}) as Record<string, JsonSchema>)) {
        const { shape, rule } = jsonShape(s, local);
        rows.push([`${m.name} (${name})`, code(key), '', shape, rule]);
      }
    }
  }
  return table(['message', 'key', 'GVariant', 'JSON', 'meaning'], rows);
}

function defsBlock(): string {
  return table(['definition', 'JSON', 'rule'], Object.entries(defs).map(([name, s]) => {
    const bounds = ['pattern', 'minimum', 'maximum', 'minLength', 'maxLength'].filter((k) => k in s).map((k) => `${k} ${code(String(s[k]))}`);
    return [name, `${String(s['type'])} ${bounds.join(', ')}`, String(s['description'] ?? '')];
  }));
}

function guardText(g: string | string[] | undefined): string {
  if (g === undefined) return '';
  return (typeof g === 'string' ? [g] : g).map(code).join(' and ');
}

function machineBlock(m: Machine): string {
  const states = table(['state', 'final', 'meaning'], Object.entries(m.states).map(([n, s]) => [n === m.initial ? `**${n}** (initial)` : n, s.final ?? '', s.doc]));
  const ordinary = m.transitions.filter((t) => t.event !== 'eof' && t.event !== 'error');
  const trans = table(['from', 'event', 'guard', 'actions', 'to'], ordinary.map((t) => [t.from, code(t.event), guardText(t.guard), (t.actions ?? []).map(code).join(', '), t.to]));
  const ends = [...new Set(m.transitions.filter((t) => t.event === 'eof' || t.event === 'error').map((t) => `${code(t.event)} → ${t.to}${t.actions?.length ? ` (${t.actions.map(code).join(', ')})` : ''}`))];
  const guards = table(['guard', 'of', 'meaning'], Object.entries(m.guards).map(([n, g]) => [code(n), g.of, g.doc]));
  const actions = table(['action', 'meaning'], Object.entries(m.actions).map(([n, a]) => [code(n), a.doc]));
  return [m.doc, '', states, '', trans, '', `From every non-final state: ${ends.join('; ')}.`, '', guards, '', actions].join('\n');
}

function errorsBlock(area = 'protocol'): string {
  const rows = Object.entries(errorSpec.codes as Record<string, { area: string; exit: number; summary: string }>)
    .filter(([, e]) => e.area === area)
    .map(([c, e]) => [code(c), String(e.exit), e.summary]);
  return table(['code', 'exit', 'meaning'], rows);
}

export function blocks(): Record<string, string> {
  return {
    messages: messagesBlock(),
    keys: keysBlock(),
    defs: defsBlock(),
    'machine:receiver': machineBlock(RECEIVER),
    'machine:pusher': machineBlock(PUSHER),
    errors: errorsBlock(),
    'errors:pull': errorsBlock('pull'),
  };
}

/** Replaces every generated block of `md`; unknown block names are an error. */
export function fillBlocks(md: string, content: Record<string, string>): string {
  return md.replace(/(<!-- generated:([\w:-]+) -->\n)[\s\S]*?(<!-- \/generated -->)/g, (_all, open: string, name: string, close: string) => {
    const body = content[name];
    if (body === undefined) throw new Error(`generate: protocol.md has an unknown block ${name}`);
    return `${open}${body}\n${close}`;
  });
}

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function typesSource(): string {
  const named: [string, JsonSchema][] = Object.entries(defs).map(([n, s]) => [pascal(n), s]);
  for (const m of MESSAGE_SCHEMAS) {
    for (const [n, s] of Object.entries((m.schema['$defs'] ?? {}) as Record<string, JsonSchema>)) named.push([pascal(n), s]);
    named.push([String(m.schema['title']), m.schema]);
  }
  const map = MESSAGE_SCHEMAS.map((m) => `  ${m.name}: ${String(m.schema['title'])};`).join('\n');
  const codes = MESSAGE_SCHEMAS.map((m) => `  ${m.name}: ${m.code},`).join('\n');
  return [
    '// Generated by spec/generate.ts from spec/messages/*.schema.json; do not edit.',
    '// The JSON form of each message body, as validated by src/protocol/validate.ts.',
    '',
    declarations(named),
    '/** Message name → body type. */',
    `export interface MessageBodies {\n${map}\n}`,
    '',
    'export type MessageType = keyof MessageBodies;',
    '',
    '/** Message name → type byte on the wire. */',
    `export const MESSAGE_CODES = {\n${codes}\n} as const satisfies Record<MessageType, number>;`,
    '',
  ].join('\n');
}

/** The decoded form of each GVariant type a required key has. */
const WIRE_TYPES: Record<string, string> = {
  i: 'number',
  s: 'string',
  b: 'boolean',
  t: 'bigint',
  as: 'string[]',
  ab: 'boolean[]',
  'a{ss}': 'Map<string, string>',
};

/** The decoded form of a key: its GVariant type's, or for UPDATE's gathered refs a Map to the local definition's fields. */
function wireType(message: string, key: string, s: JsonSchema, local: Record<string, JsonSchema>): string {
  const gv = String(s['x-gvariant'] ?? '');
  const known = WIRE_TYPES[gv];
  if (known !== undefined) return known;
  const ref = (s['additionalProperties'] as JsonSchema | undefined)?.['$ref'];
  const def = typeof ref === 'string' && ref.startsWith('#/$defs/') ? local[ref.slice('#/$defs/'.length)] : undefined;
  const fields = Object.keys((def?.['properties'] ?? {}) as Record<string, JsonSchema>);
  if (s['type'] !== 'object' || fields.length === 0) throw new Error(`generate: ${message} key '${key}' has no wire type (x-gvariant ${JSON.stringify(gv)})`);
  return `Map<string, { ${fields.map((f) => `${f}: string`).join('; ')} }>`;
}

/**
 * src/wire/messages.generated.ts: each message as the wire layer decodes it,
 * from its schema: the required keys with their GVariant types' decoded
 * form, and `extra` for the optional and unknown keys (extensions) unless the
 * schema allows none.
 */
export function wireTypesSource(): string {
  const out: string[] = [
    '// Generated by spec/generate.ts from spec/messages/*.schema.json; do not edit.',
    '// Each message as src/wire/messages.ts decodes it: the required keys in their decoded form,',
    "// the optional and unknown keys (extensions) in `extra`. The JSON form is src/protocol/messages.generated.ts.",
    "import type { Variant } from '../gvariant/index.js';",
    '',
  ];
  const names: string[] = [];
  for (const m of MESSAGE_SCHEMAS) {
    const local = (m.schema['$defs'] ?? {}) as Record<string, JsonSchema>;
    const props = (m.schema['properties'] ?? {}) as Record<string, JsonSchema>;
    const name = String(m.schema['title']).replace(/Body$/, 'Message');
    names.push(name);
    const fields = ((m.schema['required'] ?? []) as string[]).map((k) => {
      const s = props[k] ?? {};
      const doc = s['description'] === undefined ? '' : `  /** ${String(s['description'])} */\n`;
      return `${doc}  ${k}: ${wireType(m.name, k, s, local)};`;
    });
    if (m.schema['additionalProperties'] !== false) fields.push('  /** The optional and unknown keys, as received (extensions: spec/protocol.md section 12). */\n  extra: Map<string, Variant>;');
    out.push(`/** ${String(m.schema['description'] ?? m.name)} */`, `export interface ${name} {`, `  type: '${m.name}';`, ...fields, '}', '');
  }
  out.push(`export type Message = ${names.join(' | ')};`, '');
  return out.join('\n');
}

const list = (names: readonly string[]): string =>
  names.length === 0 ? '[] as const' : `[\n${names.map((n) => `  '${n}',`).join('\n')}\n] as const`;
const union = (names: readonly string[]): string => (names.length === 0 ? 'never' : names.map((n) => `'${n}'`).join(' | '));

/** The names of one machine, as `as const` arrays and the unions they give. */
export function machineNames(m: Machine): { prefix: string; lines: string[] } {
  const P = pascal(m.id);
  const U = m.id.toUpperCase();
  const events = [...new Set(m.transitions.map((t) => t.event))];
  const guardsOf = (kind: string): string[] => Object.entries(m.guards).filter(([, g]) => g.of === kind).map(([n]) => n);
  const finals = Object.entries(m.states).filter(([, s]) => s.final !== undefined).map(([n]) => n);
  // States the endpoint leaves by sending: it owes the peer a message there.
  const sending = Object.keys(m.states).filter((s) => m.transitions.some((t) => t.from === s && t.event.startsWith('send:')));
  const ctx = Object.entries(m.context ?? {}).map(([n, c]) => `  ${n}: { initial: ${c.initial}, max: ${c.max} },`);
  // For each action and each local guard, the events of the transitions that name it: what its handler is given.
  const eventsOf = (named: (t: Machine['transitions'][number]) => readonly string[], names: readonly string[]): string[] =>
    names.map((n) => `  ${n}: ${union([...new Set(m.transitions.filter((t) => named(t).includes(n)).map((t) => t.event))])};`);
  const actionEvents = eventsOf((t) => t.actions ?? [], Object.keys(m.actions));
  const guardEvents = eventsOf((t) => guardNames(t), guardsOf('local'));
  const lines = [
    `// ${m.id} (spec/machines/${m.id}.json)`,
    '',
    `export const ${U}_STATES = ${list(Object.keys(m.states))};`,
    `export type ${P}State = (typeof ${U}_STATES)[number];`,
    `/** Final states. */`,
    `export type ${P}FinalState = ${union(finals)};`,
    `/** States left by a send: the ${m.id} owes the peer a message there. */`,
    `export type ${P}SendingState = ${union(sending)};`,
    '',
    `export const ${U}_EVENTS = ${list(events)};`,
    `export type ${P}Event = (typeof ${U}_EVENTS)[number];`,
    '',
    `export const ${U}_GUARDS = ${list(Object.keys(m.guards))};`,
    `export type ${P}Guard = (typeof ${U}_GUARDS)[number];`,
    `/** Guards the ${m.id} judges itself ('local'). */`,
    `export type ${P}LocalGuard = ${union(guardsOf('local'))};`,
    `/** Guards read from the message sent or received ('message'). */`,
    `export type ${P}MessageGuard = ${union(guardsOf('message'))};`,
    `/** Guards computed by spec/machine.ts from the context ('context'). */`,
    `export type ${P}ContextGuard = ${union(guardsOf('context'))};`,
    '',
    `export const ${U}_ACTIONS = ${list(Object.keys(m.actions))};`,
    `export type ${P}Action = (typeof ${U}_ACTIONS)[number];`,
    '',
    `/** Context variables with their initial value and bound. */`,
    `export const ${U}_CONTEXT = ${ctx.length === 0 ? '{}' : `{\n${ctx.join('\n')}\n}`} as const;`,
    `export type ${P}ContextVar = keyof typeof ${U}_CONTEXT;`,
    '',
    `/** For each action, the events whose transitions run it (a handler is given that event's message). */`,
    `export type ${P}ActionEvents = {`,
    ...actionEvents,
    '};',
    '',
    `/** For each local guard, the events whose transitions ask it. */`,
    `export type ${P}LocalGuardEvents = {`,
    ...guardEvents,
    '};',
    '',
    `export interface ${P}Names {`,
    `  state: ${P}State;`,
    `  event: ${P}Event;`,
    `  guard: ${P}Guard;`,
    `  action: ${P}Action;`,
    `  context: ${P}ContextVar;`,
    `  sending: ${P}SendingState;`,
    `  localGuard: ${P}LocalGuard;`,
    `  actionEvents: ${P}ActionEvents;`,
    `  guardEvents: ${P}LocalGuardEvents;`,
    '}',
    '',
  ];
  return { prefix: P, lines };
}

export function machineTypesSource(): string {
  return [
    '// Generated by spec/generate.ts from spec/machines/*.json; do not edit.',
    '// The names each machine uses; spec/machine.ts types PUSHER and RECEIVER by them,',
    '// so a name renamed in the JSON is a type error wherever the code still uses the old one.',
    '',
    ...[PUSHER, RECEIVER].flatMap((m) => machineNames(m).lines),
  ].join('\n');
}

// ajv is CommonJS: under NodeNext the default import is the module object at
// type level and sometimes at run time; take the export from either shape.
type AjvClass = typeof Ajv2020Module.default;
const Ajv2020: AjvClass = (Ajv2020Module as unknown as { default?: AjvClass }).default ?? (Ajv2020Module as unknown as AjvClass);
type Standalone = typeof standaloneModule.default;
const standaloneCode: Standalone = (standaloneModule as unknown as { default?: Standalone }).default ?? (standaloneModule as unknown as Standalone);

/**
 * One validator per message, exported under the message's name, with the
 * options src/protocol/validate.ts relies on (first error only, strict).
 * The code requires ajv's small run-time helpers (e.g. ucs2length), not its
 * compiler.
 */
export function validatorsSource(): string {
  const ajv = new Ajv2020({ allErrors: false, strict: true, code: { source: true, esm: true } });
  ajv.addVocabulary([...ANNOTATION_KEYWORDS]);
  ajv.addSchema(DEFS_SCHEMA);
  const exports: Record<string, string> = {};
  for (const m of MESSAGE_SCHEMAS) {
    ajv.addSchema(m.schema, m.name);
    exports[m.name] = m.name;
  }
  return [
    '// Generated by spec/generate.ts from spec/messages/*.schema.json; do not edit (npm run spec:generate).',
    '// @ts-nocheck',
    "import { createRequire } from 'node:module';",
    '',
    'const require = createRequire(import.meta.url);',
    standaloneCode(ajv, exports),
    '',
  ].join('\n');
}

/** [path, wanted content, current content] for each generated file. */
export function outputs(): [string, string, string][] {
  const read = (p: string): string => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
  const md = read(PROTOCOL_MD);
  return [
    [PROTOCOL_MD, fillBlocks(md, blocks()), md],
    [TYPES_TS, typesSource(), read(TYPES_TS)],
    [MACHINE_TYPES_TS, machineTypesSource(), read(MACHINE_TYPES_TS)],
    [WIRE_TYPES_TS, wireTypesSource(), read(WIRE_TYPES_TS)],
    [VALIDATORS_TS, validatorsSource(), read(VALIDATORS_TS)],
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [path, want, have] of outputs()) {
    if (want === have) continue;
    stale++;
    if (check) console.error(`stale: ${path} (run: npx tsx spec/generate.ts)`);
    else { writeFileSync(path, want); console.log(`wrote ${path}`); }
  }
  if (check && stale > 0) process.exit(1);
}
