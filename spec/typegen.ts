/**
 * JSON Schema → TypeScript declarations, for the small subset the message
 * schemas use: object (properties, required, additionalProperties),
 * array (items), string, integer, boolean, $ref to shared or local $defs, description.
 * Anything else is refused loudly, so a schema that outgrows the converter
 * fails the generator instead of producing a wrong type.
 */
import type { JsonSchema } from './schemas.js';

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const HANDLED = new Set([
  '$schema', '$id', '$ref', '$defs', '$comment', 'title', 'description', 'x-message', 'x-gvariant',
  'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'minProperties',
  'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'if', 'then', 'items', 'maxItems',
]);

function doc(schema: JsonSchema, indent: string): string {
  const d = schema['description'];
  return typeof d === 'string' ? `${indent}/** ${d.replace(/\*\//g, '*\\/')} */\n` : '';
}

function refName(ref: string): string {
  const m = /#\/\$defs\/(\w+)$/.exec(ref);
  if (!m?.[1]) throw new Error(`typegen: unsupported $ref ${ref}`);
  return pascal(m[1]);
}

/** The TS type expression for one schema. */
export function typeOf(schema: JsonSchema | boolean, indent = ''): string {
  if (schema === true) return 'unknown';
  if (schema === false) return 'never';
  for (const k of Object.keys(schema)) if (!HANDLED.has(k)) throw new Error(`typegen: unsupported keyword ${k}`);
  if (typeof schema['$ref'] === 'string') return refName(schema['$ref']);
  switch (schema['type']) {
    case 'string': return 'string';
    case 'integer': return 'number';
    case 'boolean': return 'boolean';
    case 'object': return objectType(schema, indent);
    case 'array': return `${typeOf((schema['items'] ?? true) as JsonSchema | boolean, indent)}[]`;
    default: throw new Error(`typegen: unsupported type ${JSON.stringify(schema['type'])}`);
  }
}

function objectType(schema: JsonSchema, indent: string): string {
  const inner = indent + '  ';
  const props = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  const lines: string[] = [];
  for (const [name, sub] of Object.entries(props)) {
    const opt = required.has(name) ? '' : '?';
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
    lines.push(`${doc(sub, inner)}${inner}${key}${opt}: ${typeOf(sub, inner)};`);
  }
  const extra = schema['additionalProperties'] as JsonSchema | boolean | undefined;
  if (extra !== false) {
    const key = schema['propertyNames'] ? 'ref' : 'key';
    lines.push(`${inner}[${key}: string]: ${typeOf(extra ?? true, inner)};`);
  }
  return lines.length === 0 ? 'Record<string, never>' : `{\n${lines.join('\n')}\n${indent}}`;
}

/** `export` declarations for a set of named schemas (interfaces for objects). */
export function declarations(named: [string, JsonSchema][]): string {
  return named
    .map(([name, s]) => {
      const t = typeOf(s);
      return s['type'] === 'object' && !('$ref' in s)
        ? `${doc(s, '')}export interface ${name} ${t}\n`
        : `${doc(s, '')}export type ${name} = ${t};\n`;
    })
    .join('\n');
}
