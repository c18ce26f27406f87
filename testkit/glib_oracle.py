#!/usr/bin/python3
"""GLib as a GVariant oracle for the tests, one long-lived process.

Reads JSON lines on stdin, answers one JSON line each on stdout, in order:
  {"id", "op": "encode", "type", "value": <tagged>, "order": "le"|"be"}
      -> {"id", "ok": true, "hex"}
  {"id", "op": "decode", "type", "hex", "order"}
      -> {"id", "ok": true, "value": <tagged>, "normal": bool}
  failures -> {"id", "ok": false, "error"}
Values use the tagged JSON of src/gvariant/json.ts. Values are built and read
by walking the type with GLib's constructors and accessors (never unpack()),
so maybes, variants and dictionary order come through exactly.
Run with /usr/bin/python3 (needs python3-gi).
"""
import json
import math
import resource
import sys

import gi
gi.require_version("GLib", "2.0")
from gi.repository import GLib  # noqa: E402

V = GLib.Variant
NEW = {
    "b": V.new_boolean, "y": V.new_byte, "n": V.new_int16, "q": V.new_uint16,
    "i": V.new_int32, "u": V.new_uint32, "x": V.new_int64, "t": V.new_uint64,
    "h": V.new_handle, "d": V.new_double, "s": V.new_string,
    "o": V.new_object_path, "g": V.new_signature,
}
GET = {
    "b": V.get_boolean, "y": V.get_byte, "n": V.get_int16, "q": V.get_uint16,
    "i": V.get_int32, "u": V.get_uint32, "x": V.get_int64, "t": V.get_uint64,
    "h": V.get_handle, "d": V.get_double, "s": V.get_string,
    "o": V.get_string, "g": V.get_string,
}
DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}


def scan(s, i):
    """Index just past the complete type that starts at s[i]."""
    c = s[i]
    if c in "am":
        return scan(s, i + 1)
    if c in "({":
        i += 1
        while s[i] not in ")}":
            i = scan(s, i)
        return i + 1
    return i + 1


def members(vt):
    # VariantType.first()/next() hand back copies, and next() on a copy reads
    # past its end; split the type string here instead.
    s = vt.dup_string()
    out, i = [], 1
    while s[i] != ")":
        j = scan(s, i)
        out.append(GLib.VariantType(s[i:j]))
        i = j
    return out


def build(vt, j):
    t = vt.dup_string()
    c = t[0]
    if c in NEW:
        if c in "xt":
            j = int(j["bigint"])
        elif c == "d" and isinstance(j, dict):
            j = DOUBLES[j["double"]]
        elif c == "d":
            j = float(j)
        return NEW[c](j)
    if c == "v":
        return V.new_variant(build(GLib.VariantType(j["variant"]), j["value"]))
    if c == "m":
        el = vt.element()
        if j is None:
            return V.new_maybe(el, None)
        if el.dup_string()[0] == "m":
            j = j["just"]
        return V.new_maybe(el, build(el, j))
    if c == "a":
        el = vt.element()
        es = el.dup_string()
        if es == "y":
            return V.new_from_bytes(vt, GLib.Bytes.new(bytes.fromhex(j["bytes"])), True)
        if es[0] == "{":
            items = [V.new_dict_entry(build(el.key(), k), build(el.value(), v)) for k, v in j["dict"]]
        else:
            items = [build(el, x) for x in j]
        return V.new_array(el, items)
    if c == "(":
        return V.new_tuple(*[build(m, x) for m, x in zip(members(vt), j, strict=True)])
    if c == "{":
        return V.new_dict_entry(build(vt.key(), j[0]), build(vt.value(), j[1]))
    raise ValueError("unknown type " + t)


def walk(v):
    t = v.get_type_string()
    c = t[0]
    if c in GET:
        x = GET[c](v)
        if c in "xt":
            return {"bigint": str(x)}
        if c == "d":
            if math.isnan(x):
                return {"double": "NaN"}
            if math.isinf(x):
                return {"double": "Infinity" if x > 0 else "-Infinity"}
            if x == 0 and math.copysign(1, x) < 0:
                return {"double": "-0"}
        return x
    if c == "v":
        child = v.get_variant()
        return {"variant": child.get_type_string(), "value": walk(child)}
    if c == "m":
        child = v.get_maybe()
        if child is None:
            return None
        return {"just": walk(child)} if t[1] == "m" else walk(child)
    if t == "ay":
        return {"bytes": bytes(v.get_data_as_bytes().get_data()).hex()}
    kids = [walk(v.get_child_value(i)) for i in range(v.n_children())]
    if t.startswith("a{"):
        return {"dict": kids}
    return kids


def encode(req):
    v = build(GLib.VariantType(req["type"]), req["value"])
    if req.get("order", "le") == "be":
        v = v.byteswap()
    return {"hex": bytes(v.get_data_as_bytes().get_data()).hex()}


def load(type_string, data, order):
    """GLib's untrusted load; returns (variant in host order, is_normal_form of the input)."""
    v = V.new_from_bytes(GLib.VariantType(type_string), GLib.Bytes.new(data), False)
    normal = v.is_normal_form()
    if order == "be":
        v = v.byteswap()
    return v, normal


def decode(req):
    v, normal = load(req["type"], bytes.fromhex(req["hex"]), req.get("order", "le"))
    return {"value": walk(v), "normal": normal}


def main():
    # A GLib misuse must fail this process, not starve the machine.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    ops = {"encode": encode, "decode": decode}
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            res = {"id": req.get("id"), "ok": True}
            res.update(ops[req["op"]](req))
        except Exception as e:  # noqa: BLE001 - every failure goes back as data
            res = {"id": req.get("id"), "ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(res) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
