#!/usr/bin/python3
"""Generates messages.json: protocol v0 messages as bytes, built with GLib.

Each body is the a{sv} GLib.Variant that a v0 peer builds from a Python dict
(keys in the order written here), byteswapped for big endian, behind the
5-byte header (order byte, version 0, type, u16 body length in that order).
PUTOBJECT vectors hold header and body only: the payload that follows on the
wire is not part of them.

With the argument `reject` it prints messages-reject.json instead: streams a
reader must refuse, each with the error code (and body key) it must report.

Run with the system Python, which has gi:
    /usr/bin/python3 conformance/vectors/gen_messages.py > conformance/vectors/messages.json
    /usr/bin/python3 conformance/vectors/gen_messages.py reject > conformance/vectors/messages-reject.json
"""
import json
import struct
import sys

from gi.repository import GLib

TYPES = {'INFO': 0, 'UPDATE': 1, 'PUTOBJECT': 2, 'STATUS': 3, 'DONE': 4}
C1 = '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'
C2 = 'fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9'
C3 = 'baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096'
ZERO = '0' * 64


def info(mode, refs, extra=()):
    body = {'mode': GLib.Variant('i', mode), 'refs': GLib.Variant('a{ss}', dict(refs))}
    msg = {'type': 'INFO', 'mode': mode, 'refs': dict(refs), 'extra': {}}
    return add_extra(body, msg, extra)


def update(refs):
    body = {ref: GLib.Variant('(ss)', (old, new)) for ref, old, new in refs}
    msg = {'type': 'UPDATE', 'refs': {ref: {'from': old, 'to': new} for ref, old, new in refs}}
    return body, msg


def putobject(name, size, extra=()):
    body = {'object': GLib.Variant('s', name), 'size': GLib.Variant('t', size)}
    msg = {'type': 'PUTOBJECT', 'object': name, 'size': str(size), 'extra': {}}
    return add_extra(body, msg, extra)


def status(result, message):
    body = {'result': GLib.Variant('b', result), 'message': GLib.Variant('s', message)}
    return body, {'type': 'STATUS', 'result': result, 'message': message, 'extra': {}}


def done():
    return {}, {'type': 'DONE', 'extra': {}}


def add_extra(body, msg, extra):
    # extra: (key, GVariant type, Python value, tagged JSON of the value)
    for key, vtype, value, tagged in extra:
        body[key] = GLib.Variant(vtype, value)
        msg['extra'][key] = {'variant': vtype, 'value': tagged}
    return body, msg


CASES = [
    ('INFO-no-refs', info(1, [])),
    ('INFO-one-ref', info(1, [('main', C1)])),
    ('INFO-several-refs', info(1, [('main', C1), ('app/org.example.App/x86_64/stable', C2), ('os/x86_64/devel', C3)])),
    ('INFO-bare-user-mode', info(2, [('main', C1)])),
    ('INFO-unknown-key-kept', info(1, [('main', C1)], [('x-capabilities', 'as', ['delta', 'batch'], ['delta', 'batch'])])),
    ('UPDATE-existing-ref', update([('main', C1, C2)])),
    ('UPDATE-new-ref', update([('os/x86_64/devel', ZERO, C3)])),
    ('UPDATE-several-refs', update([('main', C1, C2), ('os/x86_64/devel', ZERO, C3)])),
    ('PUTOBJECT-filez', putobject(C1 + '.filez', 1234)),
    ('PUTOBJECT-commitmeta', putobject(C2 + '.commitmeta', 0)),
    ('PUTOBJECT-large-size', putobject(C3 + '.filez', 2**40 + 0x0102030405)),
    ('STATUS-true', status(True, '')),
    ('STATUS-false-with-message', status(False, 'ref main moved on the remote: expected ' + C1)),
    ('DONE', done()),
]


def frame(name, body, msg, order):
    v = GLib.Variant('a{sv}', body)
    if order == 'be':
        v = v.byteswap()
    data = v.get_data_as_bytes().get_data()
    fmt = '<H' if order == 'le' else '>H'
    header = (b'l' if order == 'le' else b'B') + bytes([0, TYPES[msg['type']]]) + struct.pack(fmt, len(data))
    return {'name': name + '-' + order, 'order': order, 'hex': (header + data).hex(), 'message': msg}


def raw(type_number, body, order='le', version=0, order_byte=None, length=None):
    """A header over given body bytes; every field can be made wrong."""
    fmt = '<H' if order == 'le' else '>H'
    ob = order_byte if order_byte is not None else (b'l' if order == 'le' else b'B')
    return ob + bytes([version, type_number]) + struct.pack(fmt, len(body) if length is None else length) + body


def body_bytes(d, order='le'):
    v = GLib.Variant('a{sv}', d)
    if order == 'be':
        v = v.byteswap()
    return v.get_data_as_bytes().get_data()


def reject_cases():
    status_ok = body_bytes({'result': GLib.Variant('b', True), 'message': GLib.Variant('s', '')})
    dup = GLib.Variant.new_array(GLib.VariantType('{sv}'), [
        GLib.Variant.new_dict_entry(GLib.Variant('s', 'result'), GLib.Variant('v', GLib.Variant('b', True))),
        GLib.Variant.new_dict_entry(GLib.Variant('s', 'result'), GLib.Variant('v', GLib.Variant('b', False))),
        GLib.Variant.new_dict_entry(GLib.Variant('s', 'message'), GLib.Variant('v', GLib.Variant('s', ''))),
    ]).get_data_as_bytes().get_data()
    put10 = body_bytes({'object': GLib.Variant('s', C1 + '.filez'), 'size': GLib.Variant('t', 10)})
    return [
        ('bad-order-byte', raw(4, b'', order_byte=b'L'), 'WIRE_BAD_ORDER', None),
        ('unknown-version', raw(4, b'', version=1), 'WIRE_BAD_VERSION', None),
        ('unknown-type', raw(8, b''), 'WIRE_UNKNOWN_TYPE', None),  # 5-7 are the extensions' types
        ('header-truncated', raw(4, b'')[:3], 'WIRE_TRUNCATED', None),
        ('body-truncated', raw(3, status_ok)[:-4], 'WIRE_TRUNCATED', None),
        ('payload-truncated', raw(2, put10) + b'abc', 'WIRE_TRUNCATED', None),
        ('body-length-short', raw(3, status_ok, length=len(status_ok) - 1), 'WIRE_BAD_BODY', None),
        ('body-stray-byte', raw(3, status_ok + b'\0'), 'WIRE_BAD_BODY', None),
        ('body-not-a{sv}-in-be', raw(4, b'\x00', order='be'), 'WIRE_BAD_BODY', None),
        ('duplicate-key', raw(3, dup), 'WIRE_BAD_BODY', None),
        ('INFO-mode-as-u', raw(0, body_bytes({'mode': GLib.Variant('u', 1), 'refs': GLib.Variant('a{ss}', {})})), 'WIRE_BAD_BODY', 'mode'),
        ('INFO-refs-missing', raw(0, body_bytes({'mode': GLib.Variant('i', 1)})), 'WIRE_BAD_BODY', 'refs'),
        ('INFO-refs-as-a{sv}', raw(0, body_bytes({'mode': GLib.Variant('i', 1), 'refs': GLib.Variant('a{sv}', {})})), 'WIRE_BAD_BODY', 'refs'),
        ('UPDATE-value-as-as', raw(1, body_bytes({'main': GLib.Variant('as', [ZERO, C1])})), 'WIRE_BAD_BODY', 'main'),
        ('PUTOBJECT-size-as-x-be', raw(2, body_bytes({'object': GLib.Variant('s', 'o'), 'size': GLib.Variant('x', 1)}, 'be'), order='be'), 'WIRE_BAD_BODY', 'size'),
        ('STATUS-result-as-i', raw(3, body_bytes({'result': GLib.Variant('i', 1), 'message': GLib.Variant('s', '')})), 'WIRE_BAD_BODY', 'result'),
        ('STATUS-message-missing', raw(3, body_bytes({'result': GLib.Variant('b', False)})), 'WIRE_BAD_BODY', 'message'),
    ]


def main():
    if sys.argv[1:] == ['reject']:
        out = {
            '$comment': 'Streams a protocol v0 reader must refuse, generated with GLib by gen_messages.py reject. '
            'code: the error code to report; key: the body key it names, when one is at fault.',
            'glib': '%d.%d.%d' % (GLib.MAJOR_VERSION, GLib.MINOR_VERSION, GLib.MICRO_VERSION),
            'vectors': [{'name': n, 'hex': b.hex(), 'code': c, 'key': k} for n, b, c, k in reject_cases()],
        }
    else:
        vectors = [frame(name, body, msg, order) for name, (body, msg) in CASES for order in ('le', 'be')]
        out = {
            '$comment': 'Protocol v0 messages (header + a{sv} body) generated with GLib by gen_messages.py. '
            'PUTOBJECT vectors exclude the payload that follows the body on the wire. '
            'JSON form: refs as objects, PUTOBJECT size as a decimal string, extra values as '
            '{"variant": type, "value": tagged JSON} (src/gvariant/json.ts).',
            'glib': '%d.%d.%d' % (GLib.MAJOR_VERSION, GLib.MINOR_VERSION, GLib.MICRO_VERSION),
            'vectors': vectors,
        }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
