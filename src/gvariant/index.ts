/**
 * GVariant codec: the serialization OSTree uses for its metadata objects and
 * the push protocol uses for `a{sv}` payloads (spec/ostree-format.md §2).
 *
 *   encode(type, value, order?) → Uint8Array   normal form only
 *   decode(type, bytes, order?) → value          strict, for untrusted input
 *
 * Decisions (also in README.md beside this file):
 * - Byte order: numbers follow `order` ('le' default); framing offsets are
 *   always little-endian, as GLib's byteswap() leaves them.
 * - Strict decoding: anything that is not the normal form of some value is
 *   GVARIANT_NOT_NORMAL (non-zero padding, wrong offset width, bad offsets,
 *   wrong fixed sizes, stray or trailing bytes, strings without a final NUL or
 *   with an inner one, invalid UTF-8, bool not 0/1, bad object path or
 *   signature, variant type string not exactly one complete type, Just with a
 *   wrong size or without its 00). GLib would read such data leniently; a
 *   receiver must not accept bytes it would not itself write.
 * - Depth: type strings may nest at most 128 containers (GLib's limit).
 *   A variant's content is accepted only if its depth in the whole value plus
 *   its type's depth stays under 128, GLib's G_VARIANT_MAX_RECURSION_DEPTH
 *   rule; else GVARIANT_TOO_DEEP. The encoder applies the same rule.
 * - GLib's is_normal_form() also passes an empty variable tuple whose
 *   members may all be empty (e.g. `(asms)` as no bytes); GLib writes `00`.
 *   We refuse the empty form: we accept only bytes GLib would write.
 * - Duplicate dictionary keys: GLib allows them, but a Map cannot hold both,
 *   so decode rejects them with GVARIANT_DUPLICATE_KEY. Keys compare as Map
 *   keys do (SameValueZero): for `d` keys, 0.0 and -0.0 collide.
 * - Encode validates: integer ranges, bigint for x/t, strings well-formed
 *   Unicode without NUL, object path and signature syntax; GVARIANT_BAD_VALUE.
 *   A `Uint8Array` is accepted for `ay`, and so is an array of numbers.
 * - A `d` NaN may not keep its payload bits through decode and encode.
 * - Every failure is a GVariantError; nothing else escapes decode().
 */
export { parseType, typeString, layout, MAX_TYPE_NESTING, type GVType, type BasicCode, type Layout } from './type.js';
export { Variant, type GVValue } from './variant.js';
export { encode, MAX_DEPTH, type ByteOrder } from './encode.js';
export { decode } from './decode.js';
export { toTaggedJSON, fromTaggedJSON, type TaggedJSON } from './json.js';
