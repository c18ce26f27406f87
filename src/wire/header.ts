/**
 * The 5-byte message header (spec/protocol.md, "Framing"):
 *
 * | offset | size | meaning |
 * | 0 | 1 | byte order of header and body: 'l' (0x6c) LE, 'B' (0x42) BE |
 * | 1 | 1 | protocol version, unsigned; 0 |
 * | 2 | 1 | message type, unsigned |
 * | 3 | 2 | body length, unsigned 16-bit in the byte order of offset 0 |
 *
 * An unknown message type is a framing error here (WIRE_UNKNOWN_TYPE), not a
 * message handed up to the protocol layer: whether a payload follows the body
 * depends on the type, so after an unknown type the reader cannot tell where
 * the next message starts. The error's data carries the type number.
 */
import { WireError } from '../errors.js';
import {
  type ByteOrder,
  HEADER_SIZE,
  MAX_BODY_SIZE,
  MESSAGE_TYPES,
  type MessageTypeName,
  ORDER_BYTE,
  PROTOCOL_VERSION,
  messageTypeName,
} from './constants.js';

export interface Header {
  order: ByteOrder;
  version: number;
  type: MessageTypeName;
  /** Body length in bytes, 0..65535. */
  length: number;
}

export function encodeHeader(h: Header): Uint8Array {
  if (h.order !== 'le' && h.order !== 'be') {
    throw new WireError('WIRE_BAD_ORDER', `byte order must be 'le' or 'be', not ${String(h.order)}`, { order: h.order });
  }
  if (h.version !== PROTOCOL_VERSION) {
    throw new WireError('WIRE_BAD_VERSION', `only protocol version ${PROTOCOL_VERSION} is spoken, not ${h.version}`, {
      version: h.version,
    });
  }
  const type = MESSAGE_TYPES[h.type];
  if (type === undefined) {
    throw new WireError('WIRE_UNKNOWN_TYPE', `unknown message type ${String(h.type)}`, { type: h.type });
  }
  if (!Number.isInteger(h.length) || h.length < 0 || h.length > MAX_BODY_SIZE) {
    throw new WireError('WIRE_BODY_TOO_LARGE', `body length ${h.length} does not fit the 16-bit length field`, {
      type: h.type,
      length: h.length,
      max: MAX_BODY_SIZE,
    });
  }
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  out[0] = ORDER_BYTE[h.order];
  out[1] = h.version;
  out[2] = type;
  view.setUint16(3, h.length, h.order === 'le');
  return out;
}

/** The byte order named by a header's first byte; throws WIRE_BAD_ORDER. */
export function decodeOrderByte(b: number): ByteOrder {
  if (b === ORDER_BYTE.le) return 'le';
  if (b === ORDER_BYTE.be) return 'be';
  throw new WireError('WIRE_BAD_ORDER', `bad byte-order byte 0x${b.toString(16).padStart(2, '0')} (expected 'l' or 'B')`, {
    byte: b,
  });
}

/**
 * Decodes the header at the start of `bytes` (later bytes are ignored).
 * Checks in wire order: byte order, version, type.
 */
export function decodeHeader(bytes: Uint8Array): Header {
  if (bytes.length < HEADER_SIZE) {
    throw new WireError('WIRE_TRUNCATED', `header needs ${HEADER_SIZE} bytes, got ${bytes.length}`, {
      stage: 'header',
      missing: HEADER_SIZE - bytes.length,
    });
  }
  const order = decodeOrderByte(bytes[0]!);
  const version = bytes[1]!;
  if (version !== PROTOCOL_VERSION) {
    throw new WireError('WIRE_BAD_VERSION', `peer speaks protocol version ${version}; only ${PROTOCOL_VERSION} is supported`, {
      version,
    });
  }
  const typeNumber = bytes[2]!;
  const type = messageTypeName(typeNumber);
  if (type === undefined) {
    throw new WireError('WIRE_UNKNOWN_TYPE', `unknown message type ${typeNumber}`, { type: typeNumber });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  return { order, version, type, length: view.getUint16(3, order === 'le') };
}
