/**
 * Numbers of the version-0 wire protocol, in one place (spec/protocol.md,
 * "Framing" and "Message types"):
 *
 *   offset 0  u8   byte order: 'l' (0x6c) little endian, 'B' (0x42) big endian
 *   offset 1  u8   protocol version: 0
 *   offset 2  u8   message type: INFO 0, UPDATE 1, PUTOBJECT 2, STATUS 3, DONE 4;
 *                  extensions (sent only after INFO advertised them, section 12):
 *                  QUERY 5, ANSWER 6, REPORT 7
 *   offset 3  u16  body length, in the byte order of offset 0
 */

/** Same shape as the GVariant codec's ByteOrder: the header's order is the body's. */
export type ByteOrder = 'le' | 'be';

export const HEADER_SIZE = 5;
export const PROTOCOL_VERSION = 0;
/** The body length is a u16: no body can be longer. */
export const MAX_BODY_SIZE = 0xffff;

export const ORDER_BYTE: Readonly<Record<ByteOrder, number>> = { le: 0x6c, be: 0x42 };

export const MESSAGE_TYPES = { INFO: 0, UPDATE: 1, PUTOBJECT: 2, STATUS: 3, DONE: 4, QUERY: 5, ANSWER: 6, REPORT: 7 } as const;
export type MessageTypeName = keyof typeof MESSAGE_TYPES;

const NAMES_BY_NUMBER: ReadonlyMap<number, MessageTypeName> = new Map(
  (Object.entries(MESSAGE_TYPES) as [MessageTypeName, number][]).map(([name, n]) => [n, name]),
);

export function messageTypeName(n: number): MessageTypeName | undefined {
  return NAMES_BY_NUMBER.get(n);
}

/** The 64 zeros an UPDATE carries as `from` for a ref the remote lacks. */
export const ZERO_CHECKSUM = '0'.repeat(64);

/**
 * Default cap on a PUTOBJECT payload the reader accepts (64 GiB). The reader
 * never buffers a payload, so this guards the receiver's disk, not its memory;
 * the protocol layer is expected to pass a tighter, configured limit.
 */
export const DEFAULT_MAX_PAYLOAD_SIZE = 64n * 1024n ** 3n;

/**
 * The required `a{sv}` keys of each body and their variant types, in the order
 * the encoders write them (optional extension keys, e.g. INFO `capabilities`,
 * travel in `extra`; see OPTIONAL_KEYS). UPDATE has none: every key is a ref name, each
 * with a value of UPDATE_VALUE_TYPE.
 */
export const BODY_KEYS: Readonly<Record<MessageTypeName, readonly (readonly [key: string, type: string])[]>> = {
  INFO: [
    ['mode', 'i'],
    ['refs', 'a{ss}'],
  ],
  UPDATE: [],
  PUTOBJECT: [
    ['object', 's'],
    ['size', 't'],
  ],
  STATUS: [
    ['result', 'b'],
    ['message', 's'],
  ],
  DONE: [],
  QUERY: [
    ['objects', 'as'],
    ['refs', 'as'],
  ],
  ANSWER: [
    ['have', 'ab'],
    ['refs', 'a{ss}'],
  ],
  REPORT: [
    ['moved', 'as'],
    ['refused', 'a{ss}'],
  ],
};

/**
 * Optional keys of the extensions (spec/protocol.md section 12). They ride in
 * a message's `extra`, so a version-0 peer ignores them.
 */
export const OPTIONAL_KEYS = {
  INFO: { capabilities: 'as', policy: 'a{sv}', 'refs-truncated': 'b' },
  DONE: { report: 'b' },
} as const;

/** The capability names a receiver may list in INFO `capabilities`. */
export const CAPABILITIES = { query: 'query', report: 'report' } as const;
export const UPDATE_VALUE_TYPE = '(ss)';
