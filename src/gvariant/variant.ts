/**
 * JS values for GVariant data, and the boxed `v` value.
 *
 * Mapping (api-gvariant.md): b→boolean; y n q i u h d→number; x t→bigint;
 * s o g→string; v→Variant; ay→Uint8Array; a{KV}→Map in serialized order;
 * other arrays and tuples→arrays; a lone {KV}→[k, v]; mT: Nothing→null,
 * Just v→v, except under another maybe (mmT), where Just is { just: v }.
 */
import { parseType, typeString, type GVType } from './type.js';

export type GVValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Variant
  | GVValue[]
  | Map<GVValue, GVValue>
  | null
  | { just: GVValue };

/** A value together with its type: what a `v` holds. */
export class Variant {
  readonly type: string;
  readonly value: GVValue;
  // The parsed type, kept so encoding needs no lookup by string. Private
  // (#), so it is invisible to deepEqual and JSON.
  readonly #gvtype: GVType;

  constructor(type: string | GVType, value: GVValue) {
    // Parsing here surfaces a bad type at construction (GVARIANT_BAD_TYPE).
    // A valid type string is its own canonical form.
    if (typeof type === 'string') {
      this.#gvtype = parseType(type);
      this.type = type;
    } else {
      this.type = typeString(type);
      this.#gvtype = type;
    }
    this.value = value;
  }

  get gvtype(): GVType {
    return this.#gvtype;
  }
}
