#!/usr/bin/env python3
"""Drops a wasm module's exports whose names start with a given prefix, in
place, so that wasm-opt can then remove the code only they reached.

    wasm-drop-exports.py FILE PREFIX... [--stub-table SUBSTRING...]

With --stub-table, the function table's entries whose function name
contains one of the substrings (trait-object methods only the dropped
exports could create, such as their futures' poll functions) point to a new
function that traps instead: wasm-opt keeps every function the table holds,
since any `call_indirect` might reach it, so the dropped exports' code would
otherwise stay. It needs the name section (wasm-bindgen without
--remove-name-section) and removes it.

Prints what it dropped; fails if no export or no table entry matched (the
names changed with a dependency: look again rather than ship the dead code
silently).
"""
import sys


def leb(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def uleb(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def sections(data):
    """(id, body) of each section, in order."""
    i = 8
    while i < len(data):
        section, (size, start) = data[i], leb(data, i + 1)
        yield section, data[start : start + size]
        i = start + size


def custom_name(body):
    length, k = leb(body, 0)
    return body[k : k + length].decode()


def count_of(body):
    return leb(body, 0)[0]


def append_entry(body, entry):
    """A vector section with one more entry at the end."""
    count, k = leb(body, 0)
    return uleb(count + 1) + body[k:] + entry


def function_names(body):
    """Function index -> name, from the name section's function names."""
    names, k = {}, leb(body, 0)[1] + len("name")
    while k < len(body):
        sub, (size, k) = body[k], leb(body, k + 1)
        if sub == 1:
            count, j = leb(body, k)
            for _ in range(count):
                index, j = leb(body, j)
                length, j = leb(body, j)
                names[index] = body[j : j + length].decode("utf8", "replace")
                j += length
        k += size
    return names


def imported_functions(body):
    count, k, functions = *leb(body, 0), 0
    for _ in range(count):
        for _ in range(2):  # module, name
            length, k = leb(body, k)
            k += length
        kind = body[k]
        k += 1
        if kind == 0:  # function: type index
            _, k = leb(body, k)
            functions += 1
        elif kind == 1:  # table: reference type, limits
            k += 1
            flags, k = leb(body, k)
            _, k = leb(body, k)
            if flags & 1:
                _, k = leb(body, k)
        elif kind == 2:  # memory: limits
            flags, k = leb(body, k)
            _, k = leb(body, k)
            if flags & 1:
                _, k = leb(body, k)
        elif kind == 3:  # global: value type, mutability
            k += 2
        else:
            sys.exit(f"import kind {kind} is not handled")
    return functions


def stub_elements(body, doomed, stub):
    """The element section with the doomed functions replaced by `stub`."""
    count, k = leb(body, 0)
    out, replaced = bytearray(uleb(count)), 0
    for _ in range(count):
        flags, k = leb(body, k)
        if flags != 0:  # active, table 0, offset expression, function indices
            sys.exit(f"element segment kind {flags} is not handled")
        end = body.index(0x0B, k) + 1  # the offset: one i32.const, then end
        out += uleb(flags) + body[k:end]
        entries, k = leb(body, end)
        out += uleb(entries)
        for _ in range(entries):
            index, k = leb(body, k)
            if index in doomed:
                index, replaced = stub, replaced + 1
            out += uleb(index)
    return bytes(out), replaced


def main():
    path, *args = sys.argv[1:]
    split = args.index("--stub-table") if "--stub-table" in args else len(args)
    prefixes, substrings = tuple(args[:split]), args[split + 1 :]
    data = open(path, "rb").read()
    parts = list(sections(data))
    dropped, replaced = [], 0

    if substrings:
        names_body = next(b for s, b in parts if s == 0 and custom_name(b) == "name")
        names = function_names(names_body)
        doomed = {i for i, n in names.items() if any(s in n for s in substrings)}
        imports = next((imported_functions(b) for s, b in parts if s == 2), 0)
        types = next(count_of(b) for s, b in parts if s == 1)
        stub = imports + next(count_of(b) for s, b in parts if s == 3)
        rebuilt = []
        for section, body in parts:
            if section == 1:  # a new type: () -> ()
                body = append_entry(body, b"\x60\x00\x00")
            elif section == 3:
                body = append_entry(body, uleb(types))
            elif section == 9:
                body, replaced = stub_elements(body, doomed, stub)
            elif section == 10:  # no locals; unreachable; end
                body = append_entry(body, b"\x03\x00\x00\x0b")
            elif section == 0 and custom_name(body) == "name":
                continue
            rebuilt.append((section, body))
        parts = rebuilt
        if not replaced:
            sys.exit(f"{path}: no table entry names {', '.join(substrings)}")

    out = bytearray(data[:8])
    for section, body in parts:
        if section == 7:  # exports: name, kind byte, index
            count, k = leb(body, 0)
            kept = []
            for _ in range(count):
                entry = k
                length, k = leb(body, k)
                name = body[k : k + length].decode()
                _, k = leb(body, k + length + 1)
                if name.startswith(prefixes):
                    dropped.append(name)
                else:
                    kept.append(body[entry:k])
            body = uleb(len(kept)) + b"".join(kept)
        out += bytes([section]) + uleb(len(body)) + body
    if not dropped:
        sys.exit(f"{path}: no export starts with {', '.join(prefixes)}")
    open(path, "wb").write(out)
    print("dropped exports: " + " ".join(dropped))
    if substrings:
        print(f"table entries now trapping: {replaced}")


main()
