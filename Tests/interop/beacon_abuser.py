"""A hostile host on the LAN for Plexus' discovery (PROTOCOL.md §17), written from the
protocol text alone with `cryptography` and the mesh peer's Noise code:

  forge GROUP PORT NETWORK_KEY LOCAL_IP
      sends one datagram of each bad kind (garbage, a bad signature, another network's, a
      stale one, an oversized one), then a well-signed beacon of a made-up agent X whose
      port is a listener here answering as another agent: a node that dials it must
      refuse the handshake (it pins X). Prints what the listener saw.
  flood GROUP PORT NETWORK_KEY LOCAL_IP SECONDS MAX [STOP_FILE]
      sends beacons of the network with bad signatures (each costs a receiver that looks
      at it a signature check) as fast as it can for SECONDS (at most MAX, and until
      STOP_FILE exists when given), and prints how many.

Each mode prints one JSON line; exit status 0 when it ran as planned.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mesh_peer import Identity, field_bytes, field_varint, handshake_responder


def network_tag(network_key):
    return hashlib.sha256(b"plexus-network:" + network_key.encode()).digest()[:8]


def beacon(signing, port, network_key, time_ms, forge=False, agent=None):
    agent = agent or signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    tag = network_tag(network_key)
    signed = agent + struct.pack(">H", port) + tag + struct.pack(">Q", time_ms)
    signature = signing.sign(b"plexus/beacon/v1" + signed)
    if forge:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    return (field_bytes(1, agent) + field_varint(2, port) + field_bytes(3, tag)
            + field_varint(4, time_ms) + field_bytes(5, signature))


def sender(local_ip):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local_ip))
    return sock


def now_ms():
    return int(time.time() * 1000)


def mode_forge(group, port, network_key, local_ip):
    port = int(port)
    sock = sender(local_ip)
    key = Ed25519PrivateKey.generate()
    kinds = {
        "garbage": os.urandom(120),
        "bad_signature": beacon(key, 7000, network_key, now_ms(), forge=True),
        "foreign": beacon(key, 7000, network_key + "-other", now_ms()),
        "stale": beacon(key, 7000, network_key, now_ms() - 3_600_000),
        "oversize": beacon(key, 7000, network_key, now_ms()) + field_bytes(15, os.urandom(600)),
    }
    for data in kinds.values():
        sock.sendto(data, (group, port))

    # Someone else's id: a listener here answers as agent Y, the beacon names agent X.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((local_ip, 0))
    listener.listen(4)
    listener.settimeout(20)
    x = Ed25519PrivateKey.generate()
    y = Identity()
    sock.sendto(beacon(x, listener.getsockname()[1], network_key, now_ms()), (group, port))
    seen = {"dialled": False, "handshake_completed": False, "refused": False}
    try:
        conn, _ = listener.accept()
        seen["dialled"] = True
        conn.settimeout(10)
        try:
            session, _ = handshake_responder(conn, network_key, y)
            seen["handshake_completed"] = True
        except Exception as error:  # the dialler hung up after learning our id
            seen["refused"] = True
            seen["error"] = type(error).__name__
    except socket.timeout:
        pass
    ok = seen["dialled"] and seen["refused"] and not seen["handshake_completed"]
    return {"ok": ok, "sent": list(kinds), **seen,
            "x": x.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(), "y": y.public.hex()}


def mode_flood(group, port, network_key, local_ip, seconds, most, stop_file=None):
    sock = sender(local_ip)
    key = Ed25519PrivateKey.generate()
    datagram = beacon(key, 7000, network_key, now_ms(), forge=True)
    end = time.monotonic() + float(seconds)
    sent = 0
    while sent < int(most) and time.monotonic() < end:
        if stop_file and sent % 1000 == 0 and os.path.exists(stop_file):
            break
        try:
            sock.sendto(datagram, (group, int(port)))
            sent += 1
        except (BlockingIOError, OSError):
            time.sleep(0.001)  # the interface queue is full
    return {"ok": sent > 0, "sent": sent, "ended_ms": now_ms()}


MODES = {"forge": mode_forge, "flood": mode_flood}

if __name__ == "__main__":
    result = MODES[sys.argv[1]](*sys.argv[2:])
    print(json.dumps(result), flush=True)
    sys.exit(0 if result.get("ok") else 1)
