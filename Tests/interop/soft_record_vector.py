#!/usr/bin/env python3
"""The soft-record test vector (PROTOCOL.md section 9), derived independently of the Swift
code: protobuf encoded by hand (the helpers of mesh_peer.py), Ed25519 from `cryptography`.

    soft_record_vector.py VECTOR.json          checks the vector, prints {"ok": true}
    soft_record_vector.py --write VECTOR.json  writes it
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mesh_peer import field_bytes, field_varint


def body(author, kind, scope, time_ms, expires_ms, content):
    # proto3: fields at their default value are not written.
    out = field_bytes(1, author) + field_bytes(2, kind.encode())
    if scope:
        out += field_bytes(3, scope.encode())
    if time_ms:
        out += field_varint(4, time_ms & 0xFFFFFFFFFFFFFFFF)
    if expires_ms:
        out += field_varint(5, expires_ms)
    if content:
        out += field_bytes(6, content)
    return out


def derive(seed, kind, scope, time_ms, expires_ms, content):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    author = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signed = body(author, kind, scope, time_ms, expires_ms, content)
    signature = key.sign(b"plexus/record/v1" + signed)
    encoded = field_bytes(1, signed) + field_bytes(2, signature)
    return {
        "seed": seed.hex(), "kind": kind, "scope": scope, "time_ms": time_ms, "expires_ms": expires_ms,
        "content": content.decode(), "author": author.hex(), "body": signed.hex(),
        "signature": signature.hex(), "id": hashlib.sha256(signed).hexdigest(), "encoded": encoded.hex(),
    }


def main():
    write = sys.argv[1] == "--write"
    path = sys.argv[-1]
    if write:
        vector = derive(bytes(range(32)), "agent", "", 1767225600000, 1767226500000,
                        b'{"addresses":["192.0.2.7:7465"],"capabilities":{"skills":["echo"],"tools":[],'
                        b'"resources":{"devices":[]}},"labels":{},"status":"online","interval_s":300}')
        with open(path, "w") as out:
            json.dump(vector, out, indent=2)
            out.write("\n")
    with open(path) as source:
        vector = json.load(source)
    again = derive(bytes.fromhex(vector["seed"]), vector["kind"], vector["scope"], vector["time_ms"],
                   vector["expires_ms"], vector["content"].encode())
    mismatched = [name for name in again if again[name] != vector[name]]
    print(json.dumps({"ok": not mismatched, "mismatched": mismatched}))
    sys.exit(1 if mismatched else 0)


if __name__ == "__main__":
    main()
