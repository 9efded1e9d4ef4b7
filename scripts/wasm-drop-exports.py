#!/usr/bin/env python3
"""Drops a wasm module's exports whose names start with a given prefix, in
place, so that wasm-opt can then remove the code only they reached.

    wasm-drop-exports.py FILE PREFIX...

Prints each dropped export; fails if none matched (the names changed with
a dependency: look again rather than ship the dead code silently).
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


def main():
    path, *prefixes = sys.argv[1:]
    data = open(path, "rb").read()
    out, i, dropped = bytearray(data[:8]), 8, []
    while i < len(data):
        section, (size, start) = data[i], leb(data, i + 1)
        end = start + size
        if section == 7:  # exports: name, kind byte, index
            count, k = leb(data, start)
            kept = []
            for _ in range(count):
                entry = k
                length, k = leb(data, k)
                name = data[k : k + length].decode()
                _, k = leb(data, k + length + 1)
                if name.startswith(tuple(prefixes)):
                    dropped.append(name)
                else:
                    kept.append(data[entry:k])
            body = uleb(len(kept)) + b"".join(kept)
            out += bytes([7]) + uleb(len(body)) + body
        else:
            out += data[i:end]
        i = end
    if not dropped:
        sys.exit(f"{path}: no export starts with {', '.join(prefixes)}")
    open(path, "wb").write(out)
    print("dropped exports: " + " ".join(dropped))


main()
