#!/usr/bin/env python3
"""An independent Plexus mesh peer, written against PROTOCOL.md with the `noiseprotocol`
package (Noise) and `cryptography` (Ed25519). The Swift integration tests run it against
real `plexus serve` processes, as a well-behaved peer and as an abusive one.

Every mode prints one JSON object on stdout and exits 0 when the run went as that mode
expects; the tests assert on the JSON.
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from noise.connection import Keypair, NoiseConnection

PROTOCOL = b"Noise_XX_25519_ChaChaPoly_SHA256"


def prologue(network_key):
    return b"plexus/1" + hashlib.sha256(b"plexus-network:" + network_key.encode()).digest()


# --- minimal protobuf -------------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def parse(data):
    """Yields (field number, wire type, value) for a protobuf message."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = bytes(data[i:i + length]), i + length
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def b32(raw):
    return base64.b32encode(raw).decode().lower().rstrip("=")


# --- identity ---------------------------------------------------------------------------

class Identity:
    def __init__(self):
        self.signing = Ed25519PrivateKey.generate()
        self.public = self.signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.noise_private = os.urandom(32)

    def payload(self, noise_static_public, forge=False):
        signature = self.signing.sign(b"plexus-noise-static:" + noise_static_public)
        if forge:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return field_bytes(1, self.public) + field_bytes(2, signature) + field_bytes(3, b"frames/1")


def verify_payload(payload, remote_static):
    fields = {n: v for n, _, v in parse(payload)}
    key, sig = fields.get(1, b""), fields.get(2, b"")
    Ed25519PublicKey.from_public_bytes(key).verify(sig, b"plexus-noise-static:" + remote_static)
    return key


# --- framing ----------------------------------------------------------------------------

def send_noise(sock, message):
    sock.sendall(struct.pack(">H", len(message)) + message)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by peer")
        data += chunk
    return data


def recv_noise(sock):
    (length,) = struct.unpack(">H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def frame_ping(nonce):
    return field_bytes(1, field_varint(1, nonce))


def frame_pong(nonce):
    return field_bytes(2, field_varint(1, nonce))


class Session:
    """A completed handshake: sends and receives application frames."""

    def __init__(self, sock, conn):
        self.sock, self.conn, self.buffer = sock, conn, b""

    def send_frame(self, frame):
        self.send_plain(struct.pack(">I", len(frame)) + frame)

    def send_plain(self, data):
        for start in range(0, len(data), 65535 - 16):
            send_noise(self.sock, self.conn.encrypt(data[start:start + 65535 - 16]))

    def recv_frame(self):
        while True:
            if len(self.buffer) >= 4:
                (length,) = struct.unpack(">I", self.buffer[:4])
                if len(self.buffer) >= 4 + length:
                    frame, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
                    return {n: v for n, _, v in parse(frame)}
            self.buffer += bytes(self.conn.decrypt(recv_noise(self.sock)))

    def ping_pong(self, nonce):
        """Sends a ping, answers the node's own pings, returns when our pong arrives."""
        self.send_frame(frame_ping(nonce))
        while True:
            frame = self.recv_frame()
            if 1 in frame:  # the node pinged us: answer
                ping = {n: v for n, _, v in parse(frame[1])}
                self.send_frame(frame_pong(ping.get(1, 0)))
            elif 2 in frame:
                pong = {n: v for n, _, v in parse(frame[2])}
                if pong.get(1) == nonce:
                    return nonce


def handshake_initiator(sock, network_key, me, forge=False):
    conn = NoiseConnection.from_name(PROTOCOL)
    conn.set_as_initiator()
    conn.set_keypair_from_private_bytes(Keypair.STATIC, me.noise_private)
    conn.set_prologue(prologue(network_key))
    conn.start_handshake()
    send_noise(sock, conn.write_message(b""))
    payload = conn.read_message(recv_noise(sock))
    remote_static = conn.noise_protocol.handshake_state.rs.public_bytes
    peer = verify_payload(payload, remote_static)
    static_public = conn.noise_protocol.keypairs["s"].public_bytes
    send_noise(sock, conn.write_message(me.payload(static_public, forge=forge)))
    assert conn.handshake_finished
    return Session(sock, conn), peer


def handshake_responder(sock, network_key, me):
    conn = NoiseConnection.from_name(PROTOCOL)
    conn.set_as_responder()
    conn.set_keypair_from_private_bytes(Keypair.STATIC, me.noise_private)
    conn.set_prologue(prologue(network_key))
    conn.start_handshake()
    proto = conn.noise_protocol
    saved = {}
    finish = proto.handshake_done

    def keep_remote_static():
        saved["rs"] = proto.handshake_state.rs.public_bytes
        finish()

    proto.handshake_done = keep_remote_static
    conn.read_message(recv_noise(sock))
    static_public = proto.keypairs["s"].public_bytes
    send_noise(sock, conn.write_message(me.payload(static_public)))
    payload = conn.read_message(recv_noise(sock))
    assert conn.handshake_finished
    peer = verify_payload(payload, saved["rs"])
    return Session(sock, conn), peer


def closed_by_peer(sock, within):
    """Whether the node closes the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def connect(host, port):
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# --- modes ------------------------------------------------------------------------------

def mode_initiator(host, port, network_key):
    me = Identity()
    sock = connect(host, port)
    session, peer = handshake_initiator(sock, network_key, me)
    nonces = [session.ping_pong(n) for n in (7, 8, 9)]
    sock.close()
    return {"ok": True, "peer": b32(peer), "me": b32(me.public), "pongs": nonces}


def mode_responder(network_key):
    me = Identity()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(30)
    print(json.dumps({"listening": server.getsockname()[1], "me": b32(me.public)}), flush=True)
    sock, _ = server.accept()
    sock.settimeout(30)
    session, peer = handshake_responder(sock, network_key, me)
    nonce = session.ping_pong(11)
    sock.close()
    return {"ok": True, "peer": b32(peer), "me": b32(me.public), "pongs": [nonce]}


def mode_wrong_network(host, port, network_key):
    sock = connect(host, port)
    try:
        handshake_initiator(sock, network_key + "-other", Identity())
        return {"ok": False, "why": "handshake succeeded on the wrong network"}
    except Exception as error:  # the node's message 2 does not authenticate under our prologue
        return {"ok": True, "error": type(error).__name__}


def mode_bad_signature(host, port, network_key):
    sock = connect(host, port)
    session, _ = handshake_initiator(sock, network_key, Identity(), forge=True)
    return {"ok": closed_by_peer(sock, 10)}


def mode_garbage(host, port):
    sock = connect(host, port)
    sock.sendall(os.urandom(4096))
    return {"ok": closed_by_peer(sock, 10)}


def mode_truncated(host, port, network_key):
    sock = connect(host, port)
    conn = NoiseConnection.from_name(PROTOCOL)
    conn.set_as_initiator()
    conn.set_keypair_from_private_bytes(Keypair.STATIC, os.urandom(32))
    conn.set_prologue(prologue(network_key))
    conn.start_handshake()
    message = conn.write_message(b"")
    sock.sendall(struct.pack(">H", len(message)) + message[:10])  # half a message, then silence
    started = time.monotonic()
    closed = closed_by_peer(sock, 15)
    return {"ok": closed, "closed_after_s": round(time.monotonic() - started, 2)}


def mode_slowloris(host, port):
    sock = connect(host, port)
    started = time.monotonic()
    closed = closed_by_peer(sock, 15)
    return {"ok": closed, "closed_after_s": round(time.monotonic() - started, 2)}


def mode_oversize_frame(host, port, network_key):
    sock = connect(host, port)
    session, _ = handshake_initiator(sock, network_key, Identity())
    session.send_plain(struct.pack(">I", 0x7FFFFFFF))  # announces a 2 GiB frame, sends nothing more
    return {"ok": closed_by_peer(sock, 10)}


def mode_flood(host, port, network_key, count):
    sock = connect(host, port)
    session, _ = handshake_initiator(sock, network_key, Identity())
    sent = 0
    try:
        for _ in range(int(count)):
            session.send_frame(frame_pong(0))
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        return {"ok": True, "sent": sent}
    return {"ok": closed_by_peer(sock, 10), "sent": sent}


def mode_cycles(host, port, count):
    for _ in range(int(count)):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.close()
    return {"ok": True, "cycles": int(count)}


def mode_silent(host, port, network_key):
    """Completes the handshake, then never answers the node's pings."""
    sock = connect(host, port)
    handshake_initiator(sock, network_key, Identity())
    started = time.monotonic()
    closed = closed_by_peer(sock, 30)
    return {"ok": closed, "closed_after_s": round(time.monotonic() - started, 2)}


def mode_hold(host, port, count):
    """Opens `count` connections at once and reports how many the node closed at once."""
    socks = [connect(host, port) for _ in range(int(count))]
    closed = 0
    for sock in socks:
        sock.settimeout(0.5)
        try:
            if sock.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed += 1
    return {"ok": True, "opened": len(socks), "closed": closed}


def mode_stall(network_key):
    """Listens, completes the handshake as responder, then never reads again."""
    me = Identity()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(30)
    print(json.dumps({"listening": server.getsockname()[1], "me": b32(me.public)}), flush=True)
    sock, _ = server.accept()
    sock.settimeout(30)
    handshake_responder(sock, network_key, me)
    time.sleep(60)  # the test ends us long before this
    return {"ok": True}


# --- direct messages (PROTOCOL.md §16) ----------------------------------------------------

KEM_SUITE = b"KEM" + struct.pack(">H", 0x20)
HPKE_SUITE = b"HPKE" + struct.pack(">HHH", 0x20, 1, 3)


def labeled_extract(suite, salt, label, ikm):
    return hmac.new(salt, b"HPKE-v1" + suite + label + ikm, hashlib.sha256).digest()


def labeled_expand(suite, prk, label, info, length):
    labeled_info = struct.pack(">H", length) + b"HPKE-v1" + suite + label + info
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + labeled_info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def hpke_seal(recipient_public, info, plaintext):
    """RFC 9180 single-shot base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305."""
    ephemeral = X25519PrivateKey.generate()
    enc = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    dh = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", enc + recipient_public, 32)
    context = b"\x00" + labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"") + labeled_extract(HPKE_SUITE, b"", b"info_hash", info)
    secret = labeled_extract(HPKE_SUITE, shared, b"secret", b"")
    key = labeled_expand(HPKE_SUITE, secret, b"key", context, 32)
    nonce = labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, 12)
    return enc, ChaCha20Poly1305(key).encrypt(nonce, plaintext, b"")


def length_prefixed(data):
    return struct.pack(">I", len(data)) + data


def direct_frame(me, target, seal_to, content, message_id=None, origin=None, forge=False):
    """A `Frame` with a `Direct` message from `me` (or claiming `origin`) to `target`, its
    content sealed to `seal_to` with info `plexus/dm/v1` ‖ target."""
    message_id = message_id or os.urandom(16)
    origin = origin or me.public
    time_ms = int(time.time() * 1000)
    enc, ciphertext = hpke_seal(seal_to, b"plexus/dm/v1" + target, content)
    signed = (length_prefixed(message_id) + length_prefixed(origin) + length_prefixed(target) + b"\x01"
              + struct.pack(">Q", time_ms) + length_prefixed(enc) + length_prefixed(ciphertext))
    signature = me.signing.sign(b"plexus/dm/v1" + signed)
    if forge:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    message = field_varint(1, time_ms) + field_bytes(2, enc) + field_bytes(3, ciphertext)
    direct = (field_bytes(1, message_id) + field_bytes(2, origin) + field_bytes(3, target)
              + field_bytes(4, message) + field_bytes(7, signature))
    return field_bytes(9, direct), message_id


def next_answer(session, node):
    """The next `Direct` answer from the node (pings answered, other frames skipped), its
    signature checked: (message id, "ack" or the refusal)."""
    while True:
        frame = session.recv_frame()
        if 1 in frame:
            ping = {n: v for n, _, v in parse(frame[1])}
            session.send_frame(frame_pong(ping.get(1, 0)))
        elif 9 in frame:
            fields = {n: v for n, _, v in parse(frame[9])}
            if 5 in fields:
                kind, outcome = b"\x02", "ack"
            else:
                kind, outcome = b"\x03" + length_prefixed(fields.get(6, b"")), fields.get(6, b"").decode()
            signed = length_prefixed(fields[1]) + length_prefixed(fields[2]) + length_prefixed(fields[3]) + kind
            Ed25519PublicKey.from_public_bytes(node).verify(fields[7], b"plexus/dm/v1" + signed)
            if fields[2] != node:
                raise ValueError("an answer not written by the node")
            return fields[1], outcome


def mode_direct(host, port, network_key, exchange_key_b64, exchange_signature_b64):
    """Sends the node direct messages as raw frames: good ones, a replay, and each kind of
    bad one; reports the node's signed answer to each (none for frames it must drop)."""
    sock = connect(host, port)
    me = Identity()
    session, node = handshake_initiator(sock, network_key, me)
    exchange_key = base64.b64decode(exchange_key_b64)
    try:  # the node's exchange key, as its directory record binds it (PROTOCOL.md §13.3)
        Ed25519PublicKey.from_public_bytes(node).verify(base64.b64decode(exchange_signature_b64), b"plexus/x25519/v1" + exchange_key)
    except InvalidSignature:
        return {"ok": False, "why": "the exchange key binding does not verify"}

    def hello(text):
        return json.dumps({"text": text}).encode()

    answers, expected = {}, {}

    def exchange(name, frame_and_id, expect):
        session.send_frame(frame_and_id[0])
        if expect is None:
            return
        answered_id, outcome = next_answer(session, node)
        answers[name] = outcome if answered_id == frame_and_id[1] else "answer to another message: " + outcome
        expected[name] = expect

    first = direct_frame(me, node, exchange_key, hello("hello from python"))
    exchange("valid", first, "ack")
    exchange("replayed", first, "ack")
    # Dropped without an answer (the writer cannot be told): the next answer is for the next message.
    exchange("bad_signature", direct_frame(me, node, exchange_key, hello("forged"), forge=True), None)
    exchange("forged_origin", direct_frame(me, node, exchange_key, hello("forged"), origin=os.urandom(32)), None)
    exchange("not_sealed_to_node", direct_frame(me, node, X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), hello("for another key")), "malformedEnvelope")
    exchange("not_an_object", direct_frame(me, node, exchange_key, b"[1, 2, 3]"), "malformedEnvelope")
    exchange("oversize", direct_frame(me, node, exchange_key, hello("x" * (70 * 1024))), "tooLarge")
    exchange("after", direct_frame(me, node, exchange_key, hello("still here")), "ack")
    sock.close()
    ok = all(answers.get(name, "").startswith(prefix) for name, prefix in expected.items())
    return {"ok": ok, "answers": answers, "me": b32(me.public), "node": b32(node)}


MODES = {
    "silent": mode_silent, "hold": mode_hold, "stall": mode_stall,
    "initiator": mode_initiator, "responder": mode_responder, "wrong-network": mode_wrong_network,
    "bad-signature": mode_bad_signature, "garbage": mode_garbage, "truncated": mode_truncated,
    "slowloris": mode_slowloris, "oversize-frame": mode_oversize_frame, "flood": mode_flood, "cycles": mode_cycles,
    "direct": mode_direct,
}

if __name__ == "__main__":
    result = MODES[sys.argv[1]](*sys.argv[2:])
    print(json.dumps(result), flush=True)
    sys.exit(0 if result.get("ok") else 1)
