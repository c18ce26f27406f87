/**
 * The message-body schemas of spec/messages/, loaded as data, in wire-code
 * order. Both the runtime validator (src/protocol/validate.ts) and the
 * generator (spec/generate.ts) read them from here, so there is one list.
 */
import defs from './messages/defs.schema.json' with { type: 'json' };
import info from './messages/info.schema.json' with { type: 'json' };
import update from './messages/update.schema.json' with { type: 'json' };
import putobject from './messages/putobject.schema.json' with { type: 'json' };
import status from './messages/status.schema.json' with { type: 'json' };
import done from './messages/done.schema.json' with { type: 'json' };
import query from './messages/query.schema.json' with { type: 'json' };
import answer from './messages/answer.schema.json' with { type: 'json' };
import report from './messages/report.schema.json' with { type: 'json' };

/** A JSON Schema as plain data; the generator walks it, ajv compiles it. */
export type JsonSchema = { [key: string]: unknown };

export interface MessageSchema {
  name: string;
  code: number;
  sender: 'pusher' | 'receiver';
  file: string;
  schema: JsonSchema;
}

export const DEFS_SCHEMA: JsonSchema = defs;

function entry(file: string, schema: JsonSchema): MessageSchema {
  const meta = schema['x-message'] as { code: number; name: string; sender: 'pusher' | 'receiver' };
  return { name: meta.name, code: meta.code, sender: meta.sender, file, schema };
}

export const MESSAGE_SCHEMAS: readonly MessageSchema[] = [
  entry('info.schema.json', info),
  entry('update.schema.json', update),
  entry('putobject.schema.json', putobject),
  entry('status.schema.json', status),
  entry('done.schema.json', done),
  entry('query.schema.json', query),
  entry('answer.schema.json', answer),
  entry('report.schema.json', report),
];

/** Non-standard annotation keywords our schemas use; ajv must be told they exist. */
export const ANNOTATION_KEYWORDS = ['x-message', 'x-gvariant'] as const;
