#!/usr/bin/env python3
"""Checks an AlphaSwarm audit trail without the proxy, as an auditor would.

usage: verify_audit_checkpoints.py PUBLIC_KEY_PEM AUDIT_JSONL [CHECKPOINTS_JSONL]

PUBLIC_KEY_PEM is what `alphaswarm-proxy audit-public-key` printed. The
checkpoints file defaults to the audit file's name with `.jsonl` replaced
by `.checkpoints.jsonl`. Written from the formulas in proxy/API.md
("Audit") alone: every row hash is recomputed, every checkpoint's Ed25519
signature, chain and head are checked. Prints a summary; exit 0 when all
holds, 1 when something does not. Needs only the `cryptography` package.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

GENESIS = "0" * 64
ROW_FIELDS = ["seq", "audit_run_id", "phase", "actor", "org_id", "cloud", "step",
              "error_code", "started_at", "finished_at", "prev_hash"]
CHECKPOINT_FIELDS = ["seq", "rows", "head", "prev", "at", "reason", "key_id"]


def fail(why):
    print(f"NOT VERIFIED: {why}")
    sys.exit(1)


def row_hash(row):
    canonical = json.dumps({k: row[k] for k in ROW_FIELDS}, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((row["prev_hash"] + "\n" + canonical).encode("utf-8")).hexdigest()


def checkpoint_message(cp):
    lines = ["alphaswarm-audit-checkpoint/1"] + [f"{k}={cp[k]}" for k in CHECKPOINT_FIELDS]
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        fail(f"{path} ends in a cut-off line")
    return [json.loads(line) for line in text.splitlines()]


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2])
        return 2
    with open(argv[1], "rb") as f:
        key = load_pem_public_key(f.read())
    key_id = hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()
    audit = argv[2]
    checkpoints_path = argv[3] if len(argv) == 4 else audit.rsplit(".", 1)[0] + ".checkpoints.jsonl"

    heads = [GENESIS]  # heads[n] = hash of row n
    for number, row in enumerate(read_lines(audit), start=1):
        if set(row) != set(ROW_FIELDS) | {"hash"}:
            fail(f"row {number} has other fields than an audit row")
        if row["seq"] != number or row["prev_hash"] != heads[-1] or row_hash(row) != row["hash"]:
            fail(f"row {number} breaks the hash chain")
        heads.append(row["hash"])

    previous = None
    checkpoints = read_lines(checkpoints_path)
    for number, cp in enumerate(checkpoints, start=1):
        if cp["seq"] != number:
            fail(f"checkpoint {number} is out of sequence")
        expected_prev = hashlib.sha256(checkpoint_message(previous)).hexdigest() if previous else GENESIS
        if cp["prev"] != expected_prev:
            fail(f"checkpoint {number} does not chain to checkpoint {number - 1}")
        if cp["key_id"] != key_id:
            fail(f"checkpoint {number} names another key")
        try:
            key.verify(base64.b64decode(cp["signature"], validate=True), checkpoint_message(cp))
        except (InvalidSignature, ValueError):
            fail(f"checkpoint {number}: the signature does not verify")
        if cp["rows"] >= len(heads):
            fail(f"checkpoint {number} signed {cp['rows']} rows; the file has {len(heads) - 1}")
        if heads[cp["rows"]] != cp["head"]:
            fail(f"checkpoint {number}: row {cp['rows']} is not the row it signed (re-hashed)")
        previous = cp
    if previous is None:
        fail("no signed checkpoint")
    rows = len(heads) - 1
    print(f"verified: {rows} rows, {len(checkpoints)} checkpoints, "
          f"the last signs {previous['rows']} rows at {previous['at']}, {rows - previous['rows']} rows after it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
