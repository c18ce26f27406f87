#!/usr/bin/python3
"""Generates the GVariant byte vectors with GLib.

gvariant.json: {name, type, order, hex, value}; GLib serializes each value
(byteswapped for big endian) and must read the bytes back as the same value
in normal form. Values use the tagged JSON of src/gvariant/json.ts.

With the argument `reject` it prints gvariant-reject.json instead:
{name, type, order, hex, code}, bytes a strict reader must refuse with that
code. Each entry is checked here to be one GLib refuses too: an invalid type
string, or data whose untrusted load is not is_normal_form(). (Duplicate
dictionary keys are rejected by our reader but are normal form for GLib, so
they are tested in src/gvariant/reject.test.ts, not listed here.)

Run with the system Python, which has gi:
    /usr/bin/python3 conformance/vectors/gen_gvariant.py > conformance/vectors/gvariant.json
    /usr/bin/python3 conformance/vectors/gen_gvariant.py reject > conformance/vectors/gvariant-reject.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "testkit"))
from glib_oracle import GLib, build, load, walk  # noqa: E402


def B(n):
    return {"bigint": str(n)}


def V(t, v):
    return {"variant": t, "value": v}


def X(h):
    return {"bytes": h}


CSUM1, CSUM2 = "11" * 32, "22" * 32

# (name, type, value); each is emitted in both byte orders.
VALUES = [
    ("bool-false", "b", False), ("bool-true", "b", True),
    ("byte-0", "y", 0), ("byte-255", "y", 255),
    ("int16-min", "n", -32768), ("int16-max", "n", 32767), ("uint16-max", "q", 65535), ("uint16-0102", "q", 0x0102),
    ("int32-min", "i", -2147483648), ("int32-max", "i", 2147483647), ("uint32-max", "u", 4294967295),
    ("uint32-01020304", "u", 0x01020304), ("handle-minus-1", "h", -1),
    ("int64-min", "x", B(-(1 << 63))), ("int64-max", "x", B((1 << 63) - 1)), ("uint64-max", "t", B((1 << 64) - 1)),
    ("uint64-timestamp", "t", B(1704164645)),
    ("double-1.5", "d", 1.5), ("double-minus-zero", "d", {"double": "-0"}), ("double-inf", "d", {"double": "Infinity"}),
    ("double-tiny", "d", 5e-324),
    ("string-empty", "s", ""), ("string-ascii", "s", "hello"), ("string-unicode", "s", "h\u00e9llo \u2603 \U0001f600"),
    ("string-bom", "s", "\ufeffx"),
    ("object-path-root", "o", "/"), ("object-path", "o", "/org/ostree/Repo_1"),
    ("signature-empty", "g", ""), ("signature", "g", "a{sv}(ii)v"),
    ("variant-uint32", "v", V("u", 5)), ("variant-string", "v", V("s", "hi")),
    ("variant-nested", "v", V("v", V("v", V("as", ["x", "yz"])))), ("variant-unit", "v", V("()", [])),
    ("variant-maybe-nothing", "v", V("ms", None)),
    ("unit", "()", []), ("unit-in-tuple", "(y())", [1, []]), ("array-of-unit", "a()", [[], [], []]),
    ("maybe-byte-nothing", "my", None), ("maybe-byte-just", "my", 7), ("maybe-string-just-empty", "ms", ""),
    ("maybe-string-nothing", "ms", None), ("maybe-uint32-just", "mu", 0x01020304),
    ("maybe-maybe-nothing", "mmy", None), ("maybe-maybe-just-nothing", "mmy", {"just": None}),
    ("maybe-maybe-just-just", "mmy", {"just": 9}), ("maybe-maybe-string", "mms", {"just": None}),
    ("maybe-variant", "mv", V("t", B(1))), ("array-of-maybe", "ams", ["a", None, ""]),
    ("bytes-empty", "ay", X("")), ("bytes", "ay", X("010203")), ("bytes-of-bytes", "aay", [X(""), X("00ff"), X("")]),
    ("array-uint32", "au", [1, 2, 0xffffffff]), ("array-int64", "ax", [B(-1), B(2)]),
    ("array-double", "ad", [0.5, -2.25]), ("array-bool", "ab", [True, False]),
    ("strings", "as", ["a", "bc", ""]), ("strings-empty", "as", []),
    ("array-of-tuple-yu", "a(yu)", [[1, 2], [3, 4]]), ("array-of-tuple-sy", "a(sy)", [["a", 1], ["", 2]]),
    ("array-of-variant", "av", [V("y", 1), V("s", "x"), V("ay", X("ff"))]),
    ("tuple-ss", "(ss)", ["foo", "bar"]), ("tuple-ys", "(ys)", [1, "x"]), ("tuple-sy", "(sy)", ["x", 1]),
    ("tuple-yu", "(yu)", [1, 2]), ("tuple-uy", "(uy)", [1, 2]), ("tuple-ty", "(ty)", [B(1), 2]),
    ("tuple-nested", "((ys)(ay(u)))", [[1, "a"], [X("0102"), [3]]]),
    ("dict-entry", "{sv}", ["k", V("i", -1)]), ("dict-entry-fixed", "{yu}", [1, 2]),
    ("dict-ss", "a{ss}", {"dict": [["k", "v"], ["key", "val"]]}), ("dict-sv-empty", "a{sv}", {"dict": []}),
    ("dict-sv", "a{sv}", {"dict": [["u", V("u", 1)], ["s", V("s", "hi")], ["as", V("as", ["x"])]]}),
    ("dict-uy", "a{uy}", {"dict": [[1, 2], [3, 4]]}), ("dict-tv", "a{tv}", {"dict": [[B(7), V("b", True)]]}),
    ("dict-order-kept", "a{si}", {"dict": [["z", 1], ["a", 2], ["m", 3]]}),
    ("ostree-dirmeta", "(uuuusa(ayay))", [0, 0, 0o100644, 0, "", []]),
    ("ostree-dirmeta-xattr", "(uuuusa(ayay))", [1000, 1000, 0o40755, 0, "", [[X("757365722e6100"), X("76")]]]),
    ("ostree-dirtree-empty", "(a(say)a(sayay))", [[], []]),
    ("ostree-dirtree", "(a(say)a(sayay))", [[["file", X(CSUM1)]], [["dir", X(CSUM1), X(CSUM2)]]]),
    ("ostree-commit", "(a{sv}aya(say)sstayay)",
     [{"dict": [["version", V("s", "1")]]}, X(""), [], "subj", "", B(1704164645), X(CSUM1), X(CSUM2)]),
    ("ostree-commit-parent", "(a{sv}aya(say)sstayay)",
     [{"dict": []}, X(CSUM2), [["x", X(CSUM1)]], "", "body", B(0), X(CSUM1), X(CSUM2)]),
    ("swap-example", "(a{sv}q)", [{"dict": [["k", V("q", 0x0102)]]}, 0x0304]),
    # Offset widths: 253 + 2·1 = 255 bytes, then 254 + 2·2 = 258.
    ("width-1-at-255", "as", ["a" * 126, "b" * 125]),
    ("width-2-at-258", "as", ["a" * 126, "b" * 126]),
    ("tuple-width-1-at-255", "(sss)", ["a" * 126, "b" * 126, ""]),
    ("tuple-width-2-at-256", "(sss)", ["a" * 126, "b" * 127, ""]),
]


def reject_list():
    chain = "07" + "0079" + "0076" * 127  # 128 nested v around a byte: one more than GLib allows
    return [
        # (name, type, order, hex, code)
        ("type-empty", "", "le", "", "GVARIANT_BAD_TYPE"),
        ("type-incomplete-array", "a", "le", "", "GVARIANT_BAD_TYPE"),
        ("type-two-types", "yy", "le", "0101", "GVARIANT_BAD_TYPE"),
        ("type-dict-entry-key-not-basic", "{vy}", "le", "", "GVARIANT_BAD_TYPE"),
        ("type-indefinite", "a*", "le", "", "GVARIANT_BAD_TYPE"),
        ("type-too-deep", "a" * 129 + "y", "le", "", "GVARIANT_BAD_TYPE"),
        ("bool-2", "b", "le", "02", "GVARIANT_NOT_NORMAL"),
        ("bool-2-be", "b", "be", "02", "GVARIANT_NOT_NORMAL"),
        ("byte-empty", "y", "le", "", "GVARIANT_NOT_NORMAL"),
        ("byte-trailing", "y", "le", "0102", "GVARIANT_NOT_NORMAL"),
        ("uint32-short", "u", "le", "010000", "GVARIANT_NOT_NORMAL"),
        ("int32-trailing", "i", "be", "0000000100", "GVARIANT_NOT_NORMAL"),
        ("double-short", "d", "le", "0000", "GVARIANT_NOT_NORMAL"),
        ("int64-short", "x", "le", "01000000000000", "GVARIANT_NOT_NORMAL"),
        ("string-empty-bytes", "s", "le", "", "GVARIANT_NOT_NORMAL"),
        ("string-no-nul", "s", "le", "6162", "GVARIANT_NOT_NORMAL"),
        ("string-inner-nul", "s", "le", "61006200", "GVARIANT_NOT_NORMAL"),
        ("string-invalid-utf8", "s", "le", "ff00", "GVARIANT_NOT_NORMAL"),
        ("string-overlong-utf8", "s", "le", "c0af00", "GVARIANT_NOT_NORMAL"),
        ("string-surrogate-utf8", "s", "le", "eda08000", "GVARIANT_NOT_NORMAL"),
        ("string-truncated-utf8", "s", "le", "e29800", "GVARIANT_NOT_NORMAL"),
        ("object-path-relative", "o", "le", "6100", "GVARIANT_NOT_NORMAL"),
        ("object-path-double-slash", "o", "le", "2f2f00", "GVARIANT_NOT_NORMAL"),
        ("object-path-trailing-slash", "o", "le", "2f612f00", "GVARIANT_NOT_NORMAL"),
        ("signature-maybe", "g", "le", "6d7900", "GVARIANT_NOT_NORMAL"),
        ("signature-unclosed", "g", "le", "2800", "GVARIANT_NOT_NORMAL"),
        ("variant-empty", "v", "le", "", "GVARIANT_NOT_NORMAL"),
        ("variant-no-separator", "v", "le", "0175", "GVARIANT_NOT_NORMAL"),
        ("variant-bad-type", "v", "le", "01007a", "GVARIANT_NOT_NORMAL"),
        ("variant-two-types", "v", "le", "01007979", "GVARIANT_NOT_NORMAL"),
        ("variant-empty-type", "v", "le", "0100", "GVARIANT_NOT_NORMAL"),
        ("variant-indefinite-type", "v", "le", "00002a", "GVARIANT_NOT_NORMAL"),
        ("variant-fixed-wrong-size", "v", "le", "01000075", "GVARIANT_NOT_NORMAL"),
        ("variant-child-not-normal", "v", "le", "020062", "GVARIANT_NOT_NORMAL"),
        ("variant-too-deep", "v", "le", chain, "GVARIANT_TOO_DEEP"),
        ("variant-deep-type-too-deep", "v", "le", "00" + ("a" * 120 + "y").encode().hex() + "0076" * 7,
         "GVARIANT_TOO_DEEP"),
        ("unit-nonzero", "()", "le", "01", "GVARIANT_NOT_NORMAL"),
        ("unit-empty", "()", "le", "", "GVARIANT_NOT_NORMAL"),
        ("tuple-padding-nonzero", "(yu)", "le", "0101000002000000", "GVARIANT_NOT_NORMAL"),
        ("tuple-fixed-short", "(yu)", "le", "01000000020000", "GVARIANT_NOT_NORMAL"),
        ("tuple-fixed-trailing-padding", "(uy)", "le", "0100000002000001", "GVARIANT_NOT_NORMAL"),
        ("tuple-fixed-long", "(uy)", "le", "010000000200000000", "GVARIANT_NOT_NORMAL"),
        ("tuple-trailing-garbage", "(ss)", "le", "666f6f0062617200040000", "GVARIANT_NOT_NORMAL"),
        ("tuple-offset-past-end", "(ss)", "le", "666f6f0062617200ff", "GVARIANT_NOT_NORMAL"),
        ("tuple-offsets-crossed", "(sss)", "le", "6100620063000204", "GVARIANT_NOT_NORMAL"),
        ("tuple-stray-before-table", "(sy)", "le", "6100050002", "GVARIANT_NOT_NORMAL"),
        ("tuple-missing-offset", "(ss)", "le", "61006200", "GVARIANT_NOT_NORMAL"),
        ("dict-entry-bad-padding", "{yu}", "le", "0100010002000000", "GVARIANT_NOT_NORMAL"),
        ("array-fixed-not-multiple", "au", "le", "010000000200", "GVARIANT_NOT_NORMAL"),
        ("array-bool-2", "ab", "le", "0102", "GVARIANT_NOT_NORMAL"),
        ("array-var-wide-offsets", "as", "le", "61000200", "GVARIANT_NOT_NORMAL"),
        ("array-var-table-past-end", "as", "le", "6100ff", "GVARIANT_NOT_NORMAL"),
        ("array-var-offsets-decreasing", "as", "le", "610062006300020106", "GVARIANT_NOT_NORMAL"),
        ("array-var-table-not-whole", "as", "le", "610062000203", "GVARIANT_NOT_NORMAL"),
        ("array-var-single-zero", "as", "le", "00", "GVARIANT_NOT_NORMAL"),
        ("array-var-padding-nonzero", "a(us)", "le", "0100000061000100020000006200060e", "GVARIANT_NOT_NORMAL"),
        ("array-var-element-not-normal", "as", "le", "61620203", "GVARIANT_NOT_NORMAL"),
        ("dict-sv-variant-not-normal", "a{sv}", "le", "6b0000000000000002007a020c", "GVARIANT_NOT_NORMAL"),
        ("maybe-fixed-wrong-size", "mu", "le", "0100", "GVARIANT_NOT_NORMAL"),
        ("maybe-fixed-too-long", "my", "le", "0100", "GVARIANT_NOT_NORMAL"),
        ("maybe-variable-no-marker", "ms", "le", "6100", "GVARIANT_NOT_NORMAL"),
        ("maybe-variable-marker-nonzero", "ms", "le", "610001", "GVARIANT_NOT_NORMAL"),
        ("maybe-maybe-bad", "mmy", "le", "0101", "GVARIANT_NOT_NORMAL"),
        ("commit-bad-padding", "(a{sv}aya(say)sstayay)", "le",
         "76657273696f6e0031000073080d" + "7375626a0000" + "00000001" + "0000000065937d25"
         + CSUM1 + CSUM2 + "4014130e0e0e", "GVARIANT_NOT_NORMAL"),
    ]


def glib_version():
    return "%d.%d.%d" % (GLib.MAJOR_VERSION, GLib.MINOR_VERSION, GLib.MICRO_VERSION)


def vectors():
    out = []
    for name, t, value in VALUES:
        for order in ("le", "be"):
            v = build(GLib.VariantType(t), value)
            if order == "be":
                v = v.byteswap()
            data = bytes(v.get_data_as_bytes().get_data())
            back, normal = load(t, data, order)
            if not normal or walk(back) != value:
                raise SystemExit(f"{name} {order}: GLib does not read its own bytes back")
            out.append({"name": f"{name}-{order}", "type": t, "order": order, "hex": data.hex(), "value": value})
    return {
        "$comment": "GVariant values and their bytes as GLib writes them (gen_gvariant.py). value: tagged JSON, see src/gvariant/json.ts.",
        "glib": glib_version(),
        "vectors": out,
    }


def rejects():
    out = []
    for name, t, order, hexdata, code in reject_list():
        if not GLib.VariantType.string_is_valid(t) or not GLib.VariantType(t).is_definite():
            pass  # GLib refuses the type itself: no value can have it
        else:
            if code == "GVARIANT_BAD_TYPE":
                raise SystemExit(f"{name}: GLib accepts type {t!r}")
            _, normal = load(t, bytes.fromhex(hexdata), order)
            if normal:
                raise SystemExit(f"{name}: GLib finds {hexdata} normal for {t}")
        out.append({"name": name, "type": t, "order": order, "hex": hexdata, "code": code})
    return {
        "$comment": "Bytes a strict GVariant reader must refuse, with the code to report (gen_gvariant.py reject). Each is refused by GLib too: invalid type, or not is_normal_form().",
        "glib": glib_version(),
        "vectors": out,
    }


if __name__ == "__main__":
    doc = rejects() if sys.argv[1:] == ["reject"] else vectors()
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
