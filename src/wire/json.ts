/**
 * The JSON form of a message, used by the vector files and anything that
 * stores messages as data (conformance cases, sim traces):
 *
 *   INFO       { type, mode, refs: { name: checksum }, extra }
 *   UPDATE     { type, refs: { name: { from, to } } }
 *   PUTOBJECT  { type, object, size: "<decimal>", extra }
 *   STATUS     { type, result, message, extra }
 *   DONE       { type, extra }
 *   QUERY      { type, objects: [name], refs: [name], extra }
 *   ANSWER     { type, have: [bool], refs: { name: checksum }, extra }
 *   REPORT     { type, moved: [name], refused: { name: reason }, extra }
 *
 * `extra` maps each unknown key to the tagged JSON of its variant,
 * { "variant": "<type>", "value": ... } (src/gvariant/json.ts). Object key
 * order follows Map order both ways, so encoding stays deterministic.
 */
import { WireError } from '../errors.js';
import { fromTaggedJSON, toTaggedJSON, type Variant, type TaggedJSON } from '../gvariant/index.js';
import type { Message } from './messages.js';

export type MessageJSON =
  | { type: 'INFO'; mode: number; refs: Record<string, string>; extra: Record<string, TaggedJSON> }
  | { type: 'UPDATE'; refs: Record<string, { from: string; to: string }> }
  | { type: 'PUTOBJECT'; object: string; size: string; extra: Record<string, TaggedJSON> }
  | { type: 'STATUS'; result: boolean; message: string; extra: Record<string, TaggedJSON> }
  | { type: 'DONE'; extra: Record<string, TaggedJSON> }
  | { type: 'QUERY'; objects: string[]; refs: string[]; extra: Record<string, TaggedJSON> }
  | { type: 'ANSWER'; have: boolean[]; refs: Record<string, string>; extra: Record<string, TaggedJSON> }
  | { type: 'REPORT'; moved: string[]; refused: Record<string, string>; extra: Record<string, TaggedJSON> };

function extraToJSON(extra: Map<string, Variant>): Record<string, TaggedJSON> {
  return Object.fromEntries([...extra].map(([k, v]) => [k, toTaggedJSON('v', v)]));
}

function extraFromJSON(extra: Record<string, TaggedJSON> | undefined): Map<string, Variant> {
  return new Map(Object.entries(extra ?? {}).map(([k, j]) => [k, fromTaggedJSON('v', j) as Variant]));
}

export function messageToJSON(m: Message): MessageJSON {
  switch (m.type) {
    case 'INFO':
      return { type: 'INFO', mode: m.mode, refs: Object.fromEntries(m.refs), extra: extraToJSON(m.extra) };
    case 'UPDATE':
      return { type: 'UPDATE', refs: Object.fromEntries([...m.refs].map(([r, { from, to }]) => [r, { from, to }])) };
    case 'PUTOBJECT':
      return { type: 'PUTOBJECT', object: m.object, size: m.size.toString(), extra: extraToJSON(m.extra) };
    case 'STATUS':
      return { type: 'STATUS', result: m.result, message: m.message, extra: extraToJSON(m.extra) };
    case 'DONE':
      return { type: 'DONE', extra: extraToJSON(m.extra) };
    case 'QUERY':
      return { type: 'QUERY', objects: [...m.objects], refs: [...m.refs], extra: extraToJSON(m.extra) };
    case 'ANSWER':
      return { type: 'ANSWER', have: [...m.have], refs: Object.fromEntries(m.refs), extra: extraToJSON(m.extra) };
    case 'REPORT':
      return { type: 'REPORT', moved: [...m.moved], refused: Object.fromEntries(m.refused), extra: extraToJSON(m.extra) };
  }
}

export function messageFromJSON(j: MessageJSON): Message {
  switch (j.type) {
    case 'INFO':
      return { type: 'INFO', mode: j.mode, refs: new Map(Object.entries(j.refs)), extra: extraFromJSON(j.extra) };
    case 'UPDATE':
      return { type: 'UPDATE', refs: new Map(Object.entries(j.refs).map(([r, { from, to }]) => [r, { from, to }])) };
    case 'PUTOBJECT':
      if (!/^(0|[1-9][0-9]*)$/.test(j.size)) {
        throw new WireError('WIRE_BAD_BODY', `PUTOBJECT size in JSON must be a decimal string, not ${JSON.stringify(j.size)}`, { key: 'size' });
      }
      return { type: 'PUTOBJECT', object: j.object, size: BigInt(j.size), extra: extraFromJSON(j.extra) };
    case 'STATUS':
      return { type: 'STATUS', result: j.result, message: j.message, extra: extraFromJSON(j.extra) };
    case 'DONE':
      return { type: 'DONE', extra: extraFromJSON(j.extra) };
    case 'QUERY':
      return { type: 'QUERY', objects: [...j.objects], refs: [...j.refs], extra: extraFromJSON(j.extra) };
    case 'ANSWER':
      return { type: 'ANSWER', have: [...j.have], refs: new Map(Object.entries(j.refs)), extra: extraFromJSON(j.extra) };
    case 'REPORT':
      return { type: 'REPORT', moved: [...j.moved], refused: new Map(Object.entries(j.refused)), extra: extraFromJSON(j.extra) };
  }
}
