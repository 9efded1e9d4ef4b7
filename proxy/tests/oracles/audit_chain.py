#!/usr/bin/env python3
"""Recompute an audit trail's hash chain from proxy/API.md alone.

An oracle independent of the proxy's Rust code: nothing here comes from
the crate. The formula is the one API.md documents for every row:

    hash = SHA-256(prev_hash + "\\n" + canonical JSON of the other fields)

where the canonical JSON is the row's fields in API.md's order with `hash`
left out, no whitespace, UTF-8 (non-ASCII as is); the first row chains to
64 zeros and `seq` counts rows from 1.

Usage: audit_chain.py <audit.jsonl>
Prints {"ok", "rows", "first_bad_row"} as JSON; exits 0 when the chain is
intact, 1 when a row breaks it, 2 when the file cannot be read.
"""

import hashlib
import json
import sys

FIELDS = [
    "seq",
    "audit_run_id",
    "phase",
    "actor",
    "org_id",
    "cloud",
    "step",
    "error_code",
    "started_at",
    "finished_at",
    "prev_hash",
]
GENESIS = "0" * 64


def verify(lines):
    prev, rows = GENESIS, 0
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except ValueError:
            return False, rows, number
        if not isinstance(row, dict) or set(row) != set(FIELDS) | {"hash"}:
            return False, rows, number
        if row["seq"] != number or row["prev_hash"] != prev:
            return False, rows, number
        canonical = json.dumps(
            {name: row[name] for name in FIELDS},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256((prev + "\n" + canonical).encode("utf-8")).hexdigest()
        if digest != row["hash"]:
            return False, rows, number
        prev, rows = digest, rows + 1
    return True, rows, None


def main():
    try:
        with open(sys.argv[1], encoding="utf-8") as trail:
            lines = trail.read().splitlines()
    except (OSError, UnicodeDecodeError, IndexError) as error:
        print(f"cannot read the audit trail: {error}", file=sys.stderr)
        return 2
    ok, rows, first_bad = verify(lines)
    print(json.dumps({"ok": ok, "rows": rows, "first_bad_row": first_bad}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
