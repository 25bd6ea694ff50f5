"""The knowledge market fold of PROTOCOL.md section 14.6, written from the text alone (not
from the Swift code), for the vectors in vectors/market.json.

Entries are dicts {id, author, time_ms, type, content} with ids and agents as 64 hex
digits. The result names, for every purchase, its state, standing and voided claims and
the refund that counts; for every offer, the withdrawal that counts; and the refused ids.
"""
import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAX_AMOUNT = 1 << 53
MAX_DEADLINE_MS = 30 * 86_400_000
MAX_GOODS = 40 * 1024
TYPES = {"market.offer", "market.withdraw", "market.buy", "market.claim", "market.reject", "market.refund"}


class Malformed(Exception):
    pass


def mask(secret, purchase):
    """M(r) for a purchase: HKDF-SHA256(r, no salt, info = label || purchase id)."""
    info = b"plexus/market-mask/v1" + bytes.fromhex(purchase)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def is_hex(value, length=64):
    return isinstance(value, str) and len(value) == length and all(c in "0123456789abcdef" for c in value.lower())


def text(content, key, limit, optional=False):
    value = content.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not 1 <= len(value.encode()) <= limit:
        raise Malformed(key)
    return value


def amount(content, key):
    value = content.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_AMOUNT:
        raise Malformed(key)
    return value


def ident(content, key):
    value = content.get(key)
    if not is_hex(value):
        raise Malformed(key)
    return value.lower()


def blob(content, key, low, high):
    value = content.get(key)
    try:
        data = base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError):
        data = None
    if data is None or not low <= len(data) <= high:
        raise Malformed(key)
    return data


def offer(entry):
    c = entry["content"]
    tags = c.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 16 or not all(isinstance(t, str) and 1 <= len(t.encode()) <= 64 for t in tags):
        raise Malformed("tags")
    text(c, "title", 200)
    text(c, "description", 4096, optional=True)
    text(c, "name", 255, optional=True)
    text(c, "media_type", 255, optional=True)
    amount(c, "price")
    ident(c, "key_hash")
    goods = blob(c, "goods", 16, MAX_GOODS + 16)
    blob(c, "nonce", 16, 16)
    return {"seller": entry["author"], "withdrawn": None, "goods": goods}


def opens(goods, key):
    try:
        ChaCha20Poly1305(key).decrypt(bytes(12), goods, None)
        return True
    except InvalidTag:
        return False


def purchase(entry):
    c = entry["content"]
    seller = ident(c, "seller")
    if seller == entry["author"]:
        raise Malformed("seller")
    offer_id = ident(c, "offer")
    amount(c, "price")
    blob(c, "secret_seal", 80, 80)
    blob(c, "nonce", 16, 16)
    deadline = c.get("deadline_ms")
    if not isinstance(deadline, int) or isinstance(deadline, bool) or not 0 < deadline - entry["time_ms"] <= MAX_DEADLINE_MS:
        raise Malformed("deadline_ms")
    return {"buyer": entry["author"], "seller": seller, "offer": offer_id, "key_hash": ident(c, "key_hash"), "secret_hash": ident(c, "secret_hash"),
            "deadline_ms": deadline, "claims": [], "voided": [], "refund": None}


def fold(entries):
    offers, purchases, claims, refused = {}, {}, {}, set()
    later = {"market.withdraw": [], "market.claim": [], "market.reject": [], "market.refund": []}
    for entry in entries:
        kind = entry["type"]
        try:
            if kind == "market.offer":
                offers[entry["id"]] = offer(entry)
            elif kind == "market.buy":
                purchases[entry["id"]] = purchase(entry)
            elif kind in later:
                later[kind].append(entry)
        except Malformed:
            refused.add(entry["id"])
    by_id = lambda entry: entry["id"]  # noqa: E731 -- lowest id first (hex order is byte order)

    # 1. Withdrawals: the seller's, lowest id first.
    for entry in sorted(later["market.withdraw"], key=by_id):
        target = entry["content"].get("offer")
        if not is_hex(target):
            refused.add(entry["id"])
            continue
        held = offers.get(target.lower())
        if held is None:
            continue
        if held["seller"] != entry["author"]:
            refused.add(entry["id"])
        elif held["withdrawn"] is None:
            held["withdrawn"] = entry["id"]

    # 2. Claims of held purchases, by their seller.
    for entry in later["market.claim"]:
        try:
            target = ident(entry["content"], "purchase")
            masked = blob(entry["content"], "masked_key", 32, 32)
        except Malformed:
            refused.add(entry["id"])
            continue
        held = purchases.get(target)
        if held is None:
            continue
        if held["seller"] != entry["author"]:
            refused.add(entry["id"])
            continue
        claims[entry["id"]] = (target, masked)

    # 3. Rejects: the purchase's secret under which the claim does not open to the key, or
    # to a key that does not open the offer's goods (when the offer is held).
    voided = set()
    for entry in later["market.reject"]:
        c = entry["content"]
        try:
            claim = ident(c, "claim")
            secret = blob(c, "secret", 32, 32)
        except Malformed:
            refused.add(entry["id"])
            continue
        if claim not in claims:
            continue
        target, masked = claims[claim]
        held = purchases[target]
        if hashlib.sha256(secret).hexdigest() != held["secret_hash"]:
            refused.add(entry["id"])
        elif hashlib.sha256(xor(masked, mask(secret, target))).hexdigest() == held["key_hash"] and (
                held["offer"] not in offers or opens(offers[held["offer"]]["goods"], xor(masked, mask(secret, target)))):
            refused.add(entry["id"])
        else:
            voided.add(claim)
    for claim in sorted(claims):
        target = claims[claim][0]
        if claim in voided:
            purchases[target]["voided"].append(claim)
            refused.add(claim)
        else:
            purchases[target]["claims"].append(claim)

    # 4. Refunds: the buyer's, when no claim stands, past the deadline or after a voided claim.
    for entry in sorted(later["market.refund"], key=by_id):
        target = entry["content"].get("purchase")
        if not is_hex(target):
            refused.add(entry["id"])
            continue
        held = purchases.get(target.lower())
        if held is None:
            continue
        if held["buyer"] != entry["author"] or held["claims"] or (entry["time_ms"] < held["deadline_ms"] and not held["voided"]):
            refused.add(entry["id"])
        elif held["refund"] is None:
            held["refund"] = entry["id"]

    def state(held):
        return "claimed" if held["claims"] else ("refunded" if held["refund"] else "open")
    return {
        "purchases": {pid: {"state": state(p), "claims": p["claims"], "voided": p["voided"], "refund": p["refund"]}
                      for pid, p in sorted(purchases.items())},
        "withdrawn": {oid: o["withdrawn"] for oid, o in sorted(offers.items())},
        "refused": sorted(refused),
    }
