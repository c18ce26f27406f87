/**
 * Derives what must not be written twice:
 * - the tables of spec/protocol.md, between `<!-- generated:NAME -->` and
 *   `<!-- /generated -->`, from the schemas, the machines and errors.json;
 * - src/protocol/messages.generated.ts, the body types, from the schemas.
 *
 *   npx tsx spec/generate.ts           rewrite both
 *   npx tsx spec/generate.ts --check   exit 1 if either is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import errorSpec from './errors.json' with { type: 'json' };
import { type Machine, PUSHER, RECEIVER } from './machine.js';
import { DEFS_SCHEMA, type JsonSchema, MESSAGE_SCHEMAS } from './schemas.js';
import { declarations } from './typegen.js';

export const PROTOCOL_MD = fileURLToPath(new URL('./protocol.md', import.meta.url));
export const TYPES_TS = fileURLToPath(new URL('../src/protocol/messages.generated.ts', import.meta.url));

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

function errorsBlock(): string {
  const rows = Object.entries(errorSpec.codes as Record<string, { area: string; exit: number; summary: string }>)
    .filter(([, e]) => e.area === 'protocol')
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

/** [path, wanted content, current content] for each generated file. */
export function outputs(): [string, string, string][] {
  const read = (p: string): string => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
  const md = read(PROTOCOL_MD);
  return [
    [PROTOCOL_MD, fillBlocks(md, blocks()), md],
    [TYPES_TS, typesSource(), read(TYPES_TS)],
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
