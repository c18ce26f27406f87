/**
 * Syntax of the GVariant string types.
 *
 *   s  any UTF-8 without NUL
 *   o  D-Bus object path: "/" or "/" followed by segments of [A-Za-z0-9_]+
 *      joined by "/", no trailing "/"
 *   g  D-Bus signature: zero or more complete definite types, from the
 *      letters "ybnqiuxthdvasog(){}" only (no maybe: D-Bus has none)
 */
import { scanType } from './type.js';
import { GVariantError } from '../errors.js';

const OBJECT_PATH = /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/;

export function checkObjectPath(s: string): boolean {
  return OBJECT_PATH.test(s);
}

const SIGNATURE_CHARS = /^[ybnqiuxthdvasog(){}]*$/;

export function checkSignature(s: string): boolean {
  if (!SIGNATURE_CHARS.test(s)) return false;
  let p = 0;
  try {
    while (p < s.length) p = scanType(s, p)[1];
  } catch (e) {
    if (e instanceof GVariantError) return false;
    throw e;
  }
  return true;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
