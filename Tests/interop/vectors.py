#!/usr/bin/env python3
"""The protocol test vectors in vectors/ (PROTOCOL.md section 12), derived independently of
the Swift code: protobuf encoded by hand (the helpers of mesh_peer.py), Ed25519 and X25519
from `cryptography`, SHA-256 from hashlib.

    vectors.py DIR            recomputes every vector in DIR, prints {"ok": true, ...}
    vectors.py --write DIR    writes them
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger_fold import fold as fold_ledger
from market_fold import fold as fold_market, mask as market_mask, xor
from mesh_peer import field_bytes, field_varint, prologue

RAW = (Encoding.Raw, PublicFormat.Raw)


def signing_key(seed):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return key, key.public_key().public_bytes(*RAW)


# --- entries (section 2) ----------------------------------------------------------------

def entry_body(author, seq, prev, time_ms, type_, topic, tags, refs, content, expires_ms, unknown):
    # proto3: fields at their default value are not written; `expires_ms` is `optional`,
    # written whenever present. `unknown` is appended as is (a field from a newer version).
    out = field_bytes(1, author) + field_varint(2, seq)
    if prev:
        out += field_bytes(3, prev)
    if time_ms:
        out += field_varint(4, time_ms & 0xFFFFFFFFFFFFFFFF)
    if type_:
        out += field_bytes(5, type_.encode())
    if topic:
        out += field_bytes(6, topic.encode())
    for tag in tags:
        out += field_bytes(7, tag.encode())
    for ref in refs:
        out += field_bytes(8, ref)
    if content:
        out += field_bytes(9, content.encode())
    if expires_ms is not None:
        out += field_varint(10, expires_ms)
    return out + unknown


def derive_entry(case, previous_ids):
    key, author = signing_key(bytes.fromhex(case["seed"]))
    prev = previous_ids[-1] if case["seq"] > 1 else b""
    refs = [previous_ids[index] for index in case["ref_indices"]]
    body = entry_body(author, case["seq"], prev, case["time_ms"], case["type"], case["topic"], case["tags"], refs,
                      case["content"], case["expires_ms"], bytes.fromhex(case["unknown_fields"]))
    signature = key.sign(b"plexus/entry/v1" + body)
    entry_id = hashlib.sha256(body).digest()
    derived = dict(case)
    derived.update({
        "author": author.hex(), "prev": prev.hex(), "refs": [ref.hex() for ref in refs], "body": body.hex(),
        "signature": signature.hex(), "id": entry_id.hex(),
        "encoded": (field_bytes(1, body) + field_bytes(2, signature)).hex(),
    })
    return derived, entry_id


ENTRY_CASES = [
    {"comment": "seq 1: no prev, empty topic (replicates in `mesh`), no expiry",
     "seed": bytes(range(32)).hex(), "seq": 1, "time_ms": 1767225600000, "type": "insight", "topic": "", "tags": [],
     "ref_indices": [], "content": '{"text":"hello"}', "expires_ms": None, "unknown_fields": ""},
    {"comment": "seq 2: prev, topic, tags, a ref to seq 1, an expiry",
     "seed": bytes(range(32)).hex(), "seq": 2, "time_ms": 1767225601000, "type": "response", "topic": "research",
     "tags": ["sqlite", "wal"], "ref_indices": [0], "content": '{"text":"Readers never block the writer"}',
     "expires_ms": 1767312000000, "unknown_fields": ""},
    {"comment": "seq 3: a field this version does not know (15, a string) is signed and hashed with the rest",
     "seed": bytes(range(32)).hex(), "seq": 3, "time_ms": 1767225602000, "type": "insight", "topic": "", "tags": [],
     "ref_indices": [], "content": '{"text":"from the future"}', "expires_ms": None,
     "unknown_fields": field_bytes(15, b"future").hex()},
]


def derive_entries(cases):
    ids, out = [], []
    for case in cases:
        derived, entry_id = derive_entry(case, ids)
        ids.append(entry_id)
        out.append(derived)
    return out


# --- handshake (section 6.1) ------------------------------------------------------------

def derive_handshake(case):
    key, identity = signing_key(bytes.fromhex(case["identity_seed"]))
    noise_static = X25519PrivateKey.from_private_bytes(bytes.fromhex(case["noise_static_private"]))
    noise_public = noise_static.public_key().public_bytes(*RAW)
    signature = key.sign(b"plexus-noise-static:" + noise_public)
    payload = field_bytes(1, identity) + field_bytes(2, signature)
    for feature in case["features"]:
        payload += field_bytes(3, feature.encode())
    derived = dict(case)
    derived.update({
        "prologue": prologue(case["network_key"]).hex(), "identity_key": identity.hex(),
        "noise_static_public": noise_public.hex(), "identity_sig": signature.hex(), "payload": payload.hex(),
    })
    return derived


HANDSHAKE_CASES = [
    {"comment": "message 2 or 3 payload of the default network",
     "network_key": "plexus-main", "identity_seed": bytes(range(32)).hex(),
     "noise_static_private": bytes(range(32, 64)).hex(), "features": ["frames/1"]},
]


# --- reconciliation (section 8) ---------------------------------------------------------

def head_hash(head):
    data = bytes.fromhex(head["author"]) + head["seq"].to_bytes(8, "big") + head["count"].to_bytes(8, "big")
    if head["from"] > 1:
        data += head["from"].to_bytes(8, "big")
    return hashlib.sha256(data).digest()[:16]


def fingerprint(heads):
    out = bytes(16)
    for head in heads:
        out = bytes(a ^ b for a, b in zip(out, head_hash(head)))
    return out


def sync_head(head):
    out = field_bytes(1, bytes.fromhex(head["author"])) + field_varint(2, head["seq"])
    if head["count"]:
        out += field_varint(3, head["count"])
    if head["from"] > 1:
        out += field_varint(4, head["from"])
    return out


def derive_fingerprint(case):
    heads = case["heads"]
    print_ = fingerprint(heads)
    # The opening message: one fingerprint range over everything (no bounds).
    # 16 bytes even when all zero (proto3 leaves out only an empty `bytes`).
    fingerprint_range = field_bytes(4, print_)
    if heads:
        fingerprint_range += field_varint(5, len(heads))
    # The same heads sent explicitly, asking for the receiver's.
    explicit_range = field_varint(3, 1)
    for head in heads:
        explicit_range += field_bytes(6, sync_head(head))
    explicit_range += field_varint(7, 1)
    derived = dict(case)
    derived.update({
        "fingerprint": print_.hex(), "count": len(heads),
        "opening_message": field_bytes(1, fingerprint_range).hex(),
        "explicit_message": field_bytes(1, explicit_range).hex(),
    })
    return derived


def author(name):
    return hashlib.sha256(name.encode()).hexdigest()


FINGERPRINT_CASES = [
    {"comment": "no heads: 16 zero bytes, count 0", "heads": []},
    {"comment": "one feed held from seq 1 without gaps (from is not hashed when it is 1)",
     "heads": [{"author": author("alice"), "seq": 5, "count": 5, "from": 1}]},
    {"comment": "a feed offered from seq 6 (its low-water mark is hashed)",
     "heads": [{"author": author("bob"), "seq": 9, "count": 4, "from": 6}]},
    {"comment": "three feeds, sorted by author bytes; the fingerprint is the XOR of their hashes",
     "heads": sorted([{"author": author("alice"), "seq": 5, "count": 5, "from": 1},
                      {"author": author("bob"), "seq": 9, "count": 4, "from": 6},
                      {"author": author("carol"), "seq": 3, "count": 2, "from": 1}], key=lambda h: h["author"])},
]


# --- soft records (section 9) -----------------------------------------------------------

def record_body(author, kind, scope, time_ms, expires_ms, content):
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


def derive_record(case):
    key, author_key = signing_key(bytes.fromhex(case["seed"]))
    signed = record_body(author_key, case["kind"], case["scope"], case["time_ms"], case["expires_ms"],
                         case["content"].encode())
    signature = key.sign(b"plexus/record/v1" + signed)
    derived = dict(case)
    derived.update({
        "author": author_key.hex(), "body": signed.hex(), "signature": signature.hex(),
        "id": hashlib.sha256(signed).hexdigest(), "encoded": (field_bytes(1, signed) + field_bytes(2, signature)).hex(),
    })
    return derived


RECORD_CASE = {
    "seed": bytes(range(32)).hex(), "kind": "agent", "scope": "", "time_ms": 1767225600000,
    "expires_ms": 1767226500000,
    "content": '{"addresses":["192.0.2.7:7465"],"capabilities":{"skills":["echo"],"tools":[],'
               '"resources":{"devices":[]}},"labels":{},"status":"online","interval_s":300}',
}


# --- private groups (section 13) ---------------------------------------------------------

def hkdf(ikm, info, salt=None):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def exchange_key(seed):
    """The agent's X25519 key (13.3): HKDF-SHA256 of its Ed25519 seed."""
    private = X25519PrivateKey.from_private_bytes(hkdf(seed, b"plexus/x25519/v1"))
    return private, private.public_key().public_bytes(*RAW)


HPKE_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
ZERO_NONCE = bytes(12)


def group_inner(type_, tags, refs, content):
    out = field_bytes(1, type_.encode()) if type_ else b""
    for tag in tags:
        out += field_bytes(2, tag.encode())
    for ref in refs:
        out += field_bytes(3, bytes.fromhex(ref))
    return out + (field_bytes(4, content.encode()) if content else b"")


def derive_group(case):
    seed = bytes.fromhex(case["author_seed"])
    key, author = signing_key(seed)
    _, exchange_public = exchange_key(seed)
    binding = key.sign(b"plexus/x25519/v1" + exchange_public)
    group, epoch, epoch_key = (bytes.fromhex(case[name]) for name in ("group", "epoch", "epoch_key"))
    salt = bytes.fromhex(case["salt"])
    inner = group_inner(case["type"], case["tags"], case["refs"], case["content"])
    entry_key = hkdf(epoch_key, b"plexus/group-entry/v1" + group + author + case["seq"].to_bytes(8, "big"), salt=salt)
    ciphertext = ChaCha20Poly1305(entry_key).encrypt(ZERO_NONCE, inner, epoch)
    envelope = field_bytes(1, epoch) + field_bytes(2, salt) + field_bytes(3, ciphertext)
    previous = bytes.fromhex(case["previous_epoch"])
    wrapping_key = hkdf(epoch_key, b"plexus/group-wrap/v1" + previous)
    wrapped = ChaCha20Poly1305(wrapping_key).encrypt(ZERO_NONCE, bytes.fromhex(case["previous_key"]), None)
    # The seal is random when made; what is checked is that it opens to the epoch key.
    recipient_seed = bytes.fromhex(case["recipient_seed"])
    _, recipient = signing_key(recipient_seed)
    recipient_x25519, _ = exchange_key(recipient_seed)
    sealed = bytes.fromhex(case["sealed_encapsulated_key"] + case["sealed_ciphertext"])
    opened = HPKE_SUITE.decrypt(sealed, recipient_x25519, info=b"plexus/group-epoch/v1" + recipient)
    if opened != epoch_key:
        raise ValueError("the sealed epoch key does not open to epoch_key")
    # A rekey split in two (13.3): the start (GroupControl.rekey = EpochKeys with the seal,
    # the wrapped previous key and parts = 2) and the continuation naming it (continues).
    seal = field_bytes(1, recipient[:8]) + field_bytes(2, sealed[:32]) + field_bytes(3, sealed[32:])
    rekey_start = field_bytes(1, group) + field_bytes(6, field_bytes(1, seal) + field_bytes(
        2, field_bytes(1, previous) + field_bytes(2, wrapped)) + field_varint(4, 2))
    rekey_continuation = field_bytes(1, group) + field_bytes(6, field_bytes(1, seal) + field_bytes(3, epoch))
    derived = dict(case)
    derived.update({
        "author": author.hex(), "exchange_public": exchange_public.hex(), "exchange_signature": binding.hex(),
        "recipient": recipient.hex(), "inner": inner.hex(), "entry_key": entry_key.hex(), "ciphertext": ciphertext.hex(),
        "envelope": envelope.hex(), "wrapped_previous": wrapped.hex(),
        "rekey_start_control": rekey_start.hex(), "rekey_continuation_control": rekey_continuation.hex(),
    })
    return derived


def seal_group_case(case):
    """Fills in a fresh HPKE seal of the epoch key to the recipient (for --write)."""
    recipient_seed = bytes.fromhex(case["recipient_seed"])
    _, recipient = signing_key(recipient_seed)
    _, recipient_public = exchange_key(recipient_seed)
    public = X25519PrivateKey.from_private_bytes(hkdf(recipient_seed, b"plexus/x25519/v1")).public_key()
    sealed = HPKE_SUITE.encrypt(bytes.fromhex(case["epoch_key"]), public, info=b"plexus/group-epoch/v1" + recipient)
    return dict(case, sealed_encapsulated_key=sealed[:32].hex(), sealed_ciphertext=sealed[32:].hex())


GROUP_CASE = {
    "author_seed": bytes(range(32, 64)).hex(), "recipient_seed": bytes(range(64, 96)).hex(),
    "group": hashlib.sha256(b"group").hexdigest(), "epoch": hashlib.sha256(b"epoch").hexdigest(),
    "epoch_key": bytes(range(100, 132)).hex(), "salt": bytes(range(16)).hex(), "seq": 7,
    "type": "claim", "tags": ["sqlite", "wal"], "refs": [hashlib.sha256(b"parent").hexdigest()],
    "content": '{"text":"readers never block the writer"}',
    "previous_epoch": hashlib.sha256(b"previous epoch").hexdigest(), "previous_key": bytes(range(200, 232)).hex(),
    "sealed_encapsulated_key": "", "sealed_ciphertext": "",
}


# --- group ledger (section 14) ----------------------------------------------------------

def ledger_case():
    """Account chains that meet every rule of the fold once, listed out of order."""
    def name(text):
        return hashlib.sha256(text.encode()).hexdigest()
    agents = {who: name("agent " + who) for who in ["treasury", "alice", "bob", "carol", "dave", "erin", "frank"]}
    p1, p2 = name("policy 1"), name("policy 2")
    entries, seqs, heads = {}, {}, {}

    def add(label, who, type_, fields, policy=p1, prev="head"):
        seqs[who] = seqs.get(who, 0) + 1
        content = dict(fields, policy=policy, prev=heads.get(who) if prev == "head" else prev)
        entry = {"id": name(label), "author": agents[who], "seq": seqs[who], "type": type_, "content": content}
        entries[label] = entry
        heads[who] = entry["id"]
        return entry["id"]

    def send(label, who, to, value, fee, **extra):
        return add(label, who, "ledger.send", dict({"to": agents[to], "amount": value, "fee": fee}, **extra.get("fields", {})),
                   policy=extra.get("policy", p1))

    t2 = t3 = None
    add("T1", "treasury", "ledger.mint", {"amount": 1500})
    t2 = send("T2", "treasury", "alice", 300, 0)
    t3 = send("T3", "treasury", "bob", 200, 0)
    add("T4", "treasury", "ledger.mint", {"amount": 600})  # overCap
    t5 = send("T5", "treasury", "carol", 100, 0)
    t6 = send("T6", "treasury", "dave", 50, 0)
    t7 = send("T7", "treasury", "frank", 300, 0)
    t8 = send("T8", "treasury", "frank", 150, 0)
    add("A1", "alice", "ledger.receive", {"from": [t2]})
    a2 = send("A2", "alice", "bob", 100, 1)
    send("A3", "alice", "bob", 200, 0)  # wrongFee (the policy asks 2)
    send("A4", "alice", "carol", 500, 5)  # insufficient
    a5 = add("A5", "alice", "board.create", {"title": "label the images", "reward": 60})  # settled: to bob
    add("A6", "alice", "board.create", {"title": "write the report", "reward": 20})  # still in escrow
    a6 = heads["alice"]
    seqs["alice"] = 6
    add("A7x", "alice", "ledger.send", {"to": agents["bob"], "amount": 1, "fee": 0}, prev=a6)
    seqs["alice"] = 6
    add("A7y", "alice", "ledger.send", {"to": agents["carol"], "amount": 2, "fee": 0}, prev=a6)  # one of the two: chainConflict
    add("B1", "bob", "ledger.receive", {"from": [t3, a2, a5]})
    add("B2", "bob", "ledger.receive", {"from": [t3]})  # notReceivable
    add("B3", "bob", "ledger.mint", {"amount": 5})  # notTreasury
    add("B4", "bob", "ledger.receive", {"from": [name("a send not held")]})  # waits
    add("B5", "bob", "ledger.send", {"to": agents["carol"], "amount": 1, "fee": 0})  # waits behind B4
    add("C1", "carol", "ledger.receive", {"from": [t5]}, policy=p2)
    send("C2", "carol", "alice", 10, 0)  # stalePolicy (cites policy 1 after policy 2)
    send("C3", "carol", "alice", 10, 0, policy=p2)
    add("C4", "carol", "ledger.send", {"to": agents["alice"], "amount": 1, "fee": 0}, prev=name("an entry not held"))  # waits
    add("D1", "dave", "ledger.receive", {"from": [t6]})
    send("D2", "dave", "alice", 10, 0)  # frozen: dave's feed forked at seq 2
    add("E1", "erin", "ledger.send", {"to": agents["alice"], "amount": 0, "fee": 0})  # malformed
    add("E2", "erin", "ledger.mint", {"amount": 1})  # its prev is refused: waits
    add("F1", "frank", "ledger.receive", {"from": [t7, t8]})  # t8 would pass the balance cap: stays receivable
    add("F2", "frank", "ledger.receive", {"from": [t8]})  # notReceivable (still over the cap)
    c3 = entries["C3"]["id"]

    def buy(label, price, seller, prev=None):
        return add(label, "carol", "market.buy", {
            "offer": name("offer"), "seller": agents[seller], "price": price, "key_hash": name("key"), "secret_hash": name(label),
            "secret_seal": base64.b64encode(bytes(80)).decode(), "nonce": base64.b64encode(bytes(16)).decode(),
            "deadline_ms": 1_000_000}, policy=p2, prev=prev or "head")
    c5 = buy("C5", 20, "frank", prev=c3)  # claimed by frank (escrows)
    c6 = buy("C6", 5, "frank")  # refunded to carol (escrows)
    add("C7", "carol", "market.refund", {"purchase": c6}, policy=p2)
    buy("C8", 5, "carol")  # buys from itself: malformed
    add("F3", "frank", "market.claim", {"purchase": c5, "masked_key": base64.b64encode(bytes(32)).decode()}, policy=p1)
    order = ["C3", "A7y", "F2", "B1", "T8", "A5", "E2", "C1", "A2", "D2", "T1", "B4", "A7x", "T5", "C4", "A1", "B3", "T2",
             "F1", "A6", "T6", "C2", "B2", "T4", "D1", "A3", "T7", "B5", "E1", "T3", "A4", "F3", "C7", "C5", "C8", "C6"]
    assert sorted(order) == sorted(entries)
    return {
        "comment": "A group ledger (PROTOCOL.md section 14) folded from entries in the order listed: any order folds the same.",
        "policies": [
            {"id": p1, "supply_cap": 2000, "treasury": agents["treasury"], "fee_basis_points": 100, "balance_cap": 400},
            {"id": p2, "supply_cap": 2000, "treasury": agents["treasury"], "fee_basis_points": 200, "balance_cap": 400},
        ],
        "forks": {agents["dave"]: 2},
        "escrows": {a5: agents["bob"], c5: agents["frank"], c6: agents["carol"]},
        "entries": [entries[label] for label in order],
    }


def derive_ledger(case):
    return dict(case, expected=fold_ledger(case["entries"], case["policies"], case["forks"], case["escrows"]))


# --- knowledge market (section 14.6) ---------------------------------------------------

def market_keys(case):
    """K from the seller's seed and the offer's nonce, r from the buyer's seed and the
    purchase's nonce, the sealed goods and the masked key (14.6)."""
    group = bytes.fromhex(case["group"])
    seller_seed, buyer_seed = bytes.fromhex(case["seller_seed"]), bytes.fromhex(case["buyer_seed"])
    content_key = hkdf(seller_seed, b"plexus/market-key/v1" + group, salt=base64.b64decode(case["offer_nonce"]))
    secret = hkdf(buyer_seed, b"plexus/market-buyer/v1" + group, salt=base64.b64decode(case["purchase_nonce"]))
    goods = ChaCha20Poly1305(content_key).encrypt(ZERO_NONCE, case["goods"].encode(), None)
    mask = market_mask(secret, case["purchase"])
    return {
        "seller": signing_key(seller_seed)[1].hex(), "buyer": signing_key(buyer_seed)[1].hex(),
        "content_key": content_key.hex(), "key_hash": hashlib.sha256(content_key).hexdigest(), "sealed_goods": goods.hex(),
        "secret": secret.hex(), "secret_hash": hashlib.sha256(secret).hexdigest(), "mask": mask.hex(),
        "masked_key": xor(content_key, mask).hex(),
    }


def market_case():
    """One sale with its keys, and market entries (listed out of order) that meet every rule
    of the fold once."""
    def name(text):
        return hashlib.sha256(text.encode()).hexdigest()
    case = {
        "comment": "A market sale (PROTOCOL.md section 14.6): keys and the fold of the entries in the order listed.",
        "seller_seed": bytes(range(140, 172)).hex(), "buyer_seed": bytes(range(180, 212)).hex(),
        "group": name("market group"), "offer_nonce": base64.b64encode(bytes(range(16))).decode(),
        "purchase_nonce": base64.b64encode(bytes(range(16, 32))).decode(), "purchase": name("P1"),
        "goods": "High water at 06:12 and 18:37.", "secret_seal": "",
    }
    keys = market_keys(case)
    seller, buyer = keys["seller"], keys["buyer"]
    carol, dave = name("agent carol"), name("agent dave")
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    r2, r3 = hashlib.sha256(b"carol's secret").digest(), hashlib.sha256(b"dave's secret").digest()
    seal = base64.b64encode(bytes(80)).decode()  # P1 carries the real seal (secret_seal), made at --write
    entries = []

    def add(label, who, time_ms, type_, content):
        entries.append({"id": case["purchase"] if label == "P1" else name(label), "author": who, "time_ms": time_ms,
                        "type": type_, "content": content})

    def buy(label, who, secret, deadline_ms, seller_=seller, time_ms=2000, offer_="O1"):
        add(label, who, time_ms, "market.buy", {
            "offer": name(offer_), "seller": seller_, "price": 30, "key_hash": keys["key_hash"],
            "secret_hash": hashlib.sha256(secret).hexdigest(), "secret_seal": seal, "nonce": case["purchase_nonce"],
            "deadline_ms": deadline_ms, "prev": None, "policy": name("policy")})

    offer = {"title": "Tide tables", "tags": ["tides"], "price": 30, "key_hash": keys["key_hash"],
             "goods": b64(bytes.fromhex(keys["sealed_goods"])), "nonce": case["offer_nonce"]}
    add("O1", seller, 1000, "market.offer", offer)
    add("O2", seller, 1000, "market.offer", dict(offer, price=0))  # malformed
    add("O3", seller, 1000, "market.offer", dict(offer, title="Old tables"))
    add("W1", buyer, 1500, "market.withdraw", {"offer": name("O3")})  # not the seller
    add("W2", seller, 1500, "market.withdraw", {"offer": name("O3")})
    add("W3", seller, 1600, "market.withdraw", {"offer": name("O3")})  # one of W2, W3 counts (the lower id)
    buy("P1", buyer, bytes.fromhex(keys["secret"]), 62000)
    add("K1", seller, 2500, "market.claim", {"purchase": case["purchase"], "masked_key": b64(bytes.fromhex(keys["masked_key"]))})
    add("K2", buyer, 2500, "market.claim", {"purchase": case["purchase"], "masked_key": b64(bytes(32))})  # not the seller
    add("J1", buyer, 2600, "market.reject", {"purchase": case["purchase"], "claim": name("K1"), "secret": b64(bytes.fromhex(keys["secret"]))})
    add("F1", buyer, 70000, "market.refund", {"purchase": case["purchase"]})  # claimed
    buy("P2", carol, r2, 62000)
    add("K3", seller, 2500, "market.claim", {"purchase": name("P2"), "masked_key": b64(bytes(range(32)))})  # a bad key
    add("J2", carol, 2600, "market.reject", {"purchase": name("P2"), "claim": name("K3"), "secret": b64(r2)})  # voids K3
    add("J3", carol, 2600, "market.reject", {"purchase": name("P2"), "claim": name("K3"), "secret": b64(r3)})  # wrong secret
    add("F2", carol, 3000, "market.refund", {"purchase": name("P2")})  # before the deadline, after a voided claim
    buy("P3", dave, r3, 5000)
    add("F3", dave, 4000, "market.refund", {"purchase": name("P3")})  # before the deadline
    add("F4", dave, 5000, "market.refund", {"purchase": name("P3")})
    add("F5", seller, 9000, "market.refund", {"purchase": name("P3")})  # not the buyer
    buy("P4", buyer, r3, 9000, seller_=buyer)  # buys from itself: malformed
    buy("P5", dave, r3, 2000 + 30 * 86_400_000 + 1)  # deadline past 30 days: malformed
    add("K4", seller, 2500, "market.claim", {"purchase": name("a purchase not held"), "masked_key": b64(bytes(32))})  # no effect
    add("K5", seller, 2500, "market.claim", {"purchase": name("P3"), "masked_key": b64(bytes(31))})  # malformed
    # O4 commits to K but carries goods sealed under another key: the claim reveals K, and
    # the buyer's reject shows that K does not open the goods.
    other = ChaCha20Poly1305(bytes(32)).encrypt(ZERO_NONCE, b"not the tide tables", None)
    add("O4", seller, 1000, "market.offer", dict(offer, title="Tide tables, again", goods=b64(other)))
    buy("P6", buyer, bytes.fromhex(keys["secret"]), 62000, offer_="O4")
    p6_mask = market_mask(bytes.fromhex(keys["secret"]), name("P6"))
    add("K6", seller, 2500, "market.claim", {"purchase": name("P6"), "masked_key": b64(xor(bytes.fromhex(keys["content_key"]), p6_mask))})
    add("J6", buyer, 2600, "market.reject", {"purchase": name("P6"), "claim": name("K6"), "secret": b64(bytes.fromhex(keys["secret"]))})
    order = [12, 3, 20, 26, 7, 0, 15, 22, 9, 5, 18, 1, 24, 13, 10, 4, 17, 23, 8, 2, 27, 14, 19, 11, 6, 25, 16, 21]
    assert sorted(order) == list(range(len(entries)))
    return dict(case, entries=[entries[i] for i in order])


def seal_market_case(case):
    """Fills in a fresh HPKE seal of the buyer's secret to the seller (for --write)."""
    keys = market_keys(case)
    seller_seed = bytes.fromhex(case["seller_seed"])
    public = X25519PrivateKey.from_private_bytes(hkdf(seller_seed, b"plexus/x25519/v1")).public_key()
    sealed = HPKE_SUITE.encrypt(bytes.fromhex(keys["secret"]), public, info=b"plexus/market-secret/v1" + bytes.fromhex(keys["seller"]))
    seal = base64.b64encode(sealed).decode()
    entries = [dict(e, content=dict(e["content"], secret_seal=seal)) if e["id"] == case["purchase"] else e for e in case["entries"]]
    return dict(case, secret_seal=seal, entries=entries)


def derive_market(case):
    keys = market_keys(case)
    seller_seed = bytes.fromhex(case["seller_seed"])
    seller_x25519, _ = exchange_key(seller_seed)
    opened = HPKE_SUITE.decrypt(base64.b64decode(case["secret_seal"]), seller_x25519,
                                info=b"plexus/market-secret/v1" + bytes.fromhex(keys["seller"]))
    if opened.hex() != keys["secret"]:
        raise ValueError("the sealed secret does not open to r")
    return dict(case, **keys, expected=fold_market(case["entries"]))


def derive_all(inputs):
    return {
        "entries.json": derive_entries(inputs["entries.json"]),
        "handshake.json": [derive_handshake(case) for case in inputs["handshake.json"]],
        "fingerprints.json": [derive_fingerprint(case) for case in inputs["fingerprints.json"]],
        "soft-record.json": derive_record(inputs["soft-record.json"]),
        "groups.json": derive_group(inputs["groups.json"]),
        "ledger.json": derive_ledger(inputs["ledger.json"]),
        "market.json": derive_market(inputs["market.json"]),
    }


INPUT_KEYS = {
    "entries.json": list(ENTRY_CASES[0].keys()),
    "handshake.json": list(HANDSHAKE_CASES[0].keys()),
    "fingerprints.json": ["comment", "heads"],
    "soft-record.json": list(RECORD_CASE.keys()),
    "groups.json": list(GROUP_CASE.keys()),
    "ledger.json": ["comment", "policies", "forks", "escrows", "entries"],
    "market.json": ["comment", "seller_seed", "buyer_seed", "group", "offer_nonce", "purchase_nonce", "purchase", "goods",
                    "secret_seal", "entries"],
}


def inputs_of(vectors):
    """The inputs recorded in the vectors (everything else is derived from them)."""
    def pick(case, name):
        return {key: case[key] for key in INPUT_KEYS[name]}
    return {name: [pick(case, name) for case in value] if isinstance(value, list) else pick(value, name)
            for name, value in vectors.items()}


def main():
    write = sys.argv[1] == "--write"
    directory = sys.argv[-1]
    if write:
        derived = derive_all({"entries.json": ENTRY_CASES, "handshake.json": HANDSHAKE_CASES,
                              "fingerprints.json": FINGERPRINT_CASES, "soft-record.json": RECORD_CASE,
                              "groups.json": seal_group_case(GROUP_CASE), "ledger.json": ledger_case(),
                              "market.json": seal_market_case(market_case())})
        for name, value in derived.items():
            with open(os.path.join(directory, name), "w") as out:
                json.dump(value, out, indent=2)
                out.write("\n")
    stored = {}
    for name in INPUT_KEYS:
        with open(os.path.join(directory, name)) as source:
            stored[name] = json.load(source)
    again = derive_all(inputs_of(stored))
    mismatched = [name for name in stored if again[name] != stored[name]]
    print(json.dumps({"ok": not mismatched, "mismatched": mismatched, "files": sorted(stored)}))


if __name__ == "__main__":
    main()
