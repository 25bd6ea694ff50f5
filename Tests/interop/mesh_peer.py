#!/usr/bin/env python3
"""An independent Plexus mesh peer, written against PROTOCOL.md with the `noiseprotocol`
package (Noise) and `cryptography` (Ed25519). The Swift integration tests run it against
real `plexus serve` processes, as a well-behaved peer and as an abusive one.

Every mode prints one JSON object on stdout and exits 0 when the run went as that mode
expects; the tests assert on the JSON.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
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


MODES = {
    "silent": mode_silent, "hold": mode_hold, "stall": mode_stall,
    "initiator": mode_initiator, "responder": mode_responder, "wrong-network": mode_wrong_network,
    "bad-signature": mode_bad_signature, "garbage": mode_garbage, "truncated": mode_truncated,
    "slowloris": mode_slowloris, "oversize-frame": mode_oversize_frame, "flood": mode_flood, "cycles": mode_cycles,
}

if __name__ == "__main__":
    result = MODES[sys.argv[1]](*sys.argv[2:])
    print(json.dumps(result), flush=True)
    sys.exit(0 if result.get("ok") else 1)
