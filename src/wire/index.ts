/**
 * Wire framing of protocol version 0 (spec/protocol.md): 5-byte header,
 * `a{sv}` body, and the payload after PUTOBJECT.
 *
 * Decisions:
 * - An unknown message type is a framing error (WIRE_UNKNOWN_TYPE), not a
 *   message for the protocol layer: whether a payload follows depends on the
 *   type, so the stream cannot be framed past it. Likewise an unknown version.
 * - Structure only: a missing required key or a known key with the wrong
 *   variant type is WIRE_BAD_BODY naming the key; a body that is not a valid
 *   normal-form `a{sv}` is WIRE_BAD_BODY carrying the GVariant code in
 *   `data.gvariant` (and the GVariantError as `cause`). Ref names, checksums,
 *   modes and sizes are the protocol layer's to validate.
 * - Unknown keys are kept in `extra` (not in UPDATE, whose keys are refs).
 * - Encoding order: known keys as in BODY_KEYS, then extras, refs in Map
 *   order; deterministic, and irrelevant to decoders.
 * - A body over 65,535 bytes is WIRE_BODY_TOO_LARGE at the sender.
 * - The reader never buffers a payload; `maxPayloadSize` (default 64 GiB) is
 *   checked before the first payload byte is read. The writer honours
 *   backpressure and checks payload sizes.
 */
export * from './constants.js';
export { decodeHeader, encodeHeader, type Header } from './header.js';
export * from './messages.js';
export { messageFromJSON, messageToJSON, type MessageJSON } from './json.js';
export { MessageReader, Payload, type ReaderOptions, type ReadResult } from './reader.js';
export { MessageWriter } from './writer.js';
