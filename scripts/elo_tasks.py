"""The `plexus-bench tasks` scenario written against Elo's Python API (elo-node 0.6.0).

Three processes on 127.0.0.1, as in `plexus-bench tasks`: a bootstrap node (`serve`), an
echo worker (`worker`, `@node.on_task`) and this process (`bench`), a node that sends
tasks with `send_task` and ~64-byte payloads. Phases: 100 warm-up round trips, N
sequential, 50 in flight for S seconds, the same with a handler that waits 10 ms, the idle
RSS of the bootstrap node (2 s after start), and cold starts (process spawn until the new
node has a connected peer). Prints one JSON object.

One change to Elo as shipped: its per-peer limit of 100 messages a minute is lifted (it
drops everything past it, which would end every phase after 100 tasks). `scripts/compare-elo`
runs this in a network namespace of its own with only loopback, because an Elo node with
no peers dials its public tracker and every node sends multicast announcements.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

from elo import Node

PAYLOAD = {"d": "p" * 55}  # {"d": "ppp…"}: 64 bytes as JSON


class NoRateLimit(dict):
    """Elo's per-peer message counter, always fresh: the 100-a-minute cap never trips."""

    def get(self, key, default=None):
        return default


def node(name, port=0, peers=None):
    made = Node(name, port=port, peers=peers or [], tracker="public")
    made._msg_count = NoRateLimit()
    return made


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def percentile(samples, p):
    ordered = sorted(samples)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[index], 3)


async def serve(args):
    bootstrap = node("bootstrap", port=args.port)
    await bootstrap.connect()
    print(bootstrap.port, flush=True)
    await bootstrap.run()


async def worker(args):
    echo = node("worker", peers=[args.peer])

    @echo.on_task
    async def handle(task):
        sleep_ms = task.payload.get("sleep_ms")
        if sleep_ms:
            await asyncio.sleep(sleep_ms / 1000)
        return task.payload

    await echo.connect()
    await echo.register(agents=["echo"])
    print(echo.node_id, echo.port, flush=True)
    await echo.run()


async def cold(args):
    started = node("cold", peers=[args.peer])
    await started.connect()
    while started.peer_count == 0:
        await asyncio.sleep(0.001)
    print("connected", flush=True)


def spawn(*arguments):
    return subprocess.Popen([sys.executable, __file__, *arguments], stdout=subprocess.PIPE, text=True)


async def bench(args):
    processes = []
    try:
        bootstrap = spawn("serve", "--port", "0")
        processes.append(bootstrap)
        port = int(bootstrap.stdout.readline())
        peer = f"127.0.0.1:{port}"
        await asyncio.sleep(2)  # idle: nothing connected yet
        idle_rss = rss_kib(bootstrap.pid)
        idle_anon = rss_kib(bootstrap.pid, "RssAnon")

        echo = spawn("worker", "--peer", peer)
        processes.append(echo)
        worker_id, worker_port = echo.stdout.readline().split()

        # Elo cannot learn a worker's listening address through the bootstrap node (it hands
        # out the port the worker dialled from), so the sender is given it, as Plexus's
        # sender dials the address in the worker's directory record.
        sender = node("sender", peers=[peer, f"127.0.0.1:{worker_port}"])
        await sender.connect()
        runner = asyncio.create_task(sender.run())
        deadline = time.monotonic() + 30
        while sender._routing.find_peer_for("echo") is None:  # learnt from the worker's hello ack
            if time.monotonic() > deadline:
                raise SystemExit("the sender never learnt of the echo worker")
            await asyncio.sleep(0.02)

        async def round_trip(payload):
            result = await sender.send_task(worker_id, "echo", payload)
            if result.status != "success":
                raise SystemExit(f"task ended {result.status}: {result.error}")

        for _ in range(100):
            await round_trip(PAYLOAD)
        sequential = []
        for _ in range(args.sequential):
            started = time.perf_counter()
            await round_trip(PAYLOAD)
            sequential.append((time.perf_counter() - started) * 1000)

        async def load(payload):
            end = time.monotonic() + args.seconds
            latencies = []

            async def lane():
                while time.monotonic() < end:
                    started = time.perf_counter()
                    await round_trip(payload)
                    latencies.append((time.perf_counter() - started) * 1000)

            await asyncio.gather(*(lane() for _ in range(args.in_flight)))
            return latencies

        concurrent = await load(PAYLOAD)
        slow = await load({"sleep_ms": 10, "data": PAYLOAD["d"]})

        cold_starts = []
        for _ in range(args.cold_starts):
            started = time.perf_counter()
            child = spawn("cold", "--peer", peer)
            line = child.stdout.readline().strip()
            cold_starts.append((time.perf_counter() - started) * 1000)
            child.kill()
            child.wait()
            if line != "connected":
                raise SystemExit("a cold Elo node did not connect")

        await sender.disconnect()
        await runner
        print(json.dumps({
            "scenario": "tasks", "system": "elo-node 0.6.0", "payload_bytes": len(json.dumps(PAYLOAD)),
            "sequential": {
                "round_trips": args.sequential, "median_ms": percentile(sequential, 50),
                "p90_ms": percentile(sequential, 90), "p99_ms": percentile(sequential, 99),
            },
            "concurrent": {
                "in_flight": args.in_flight, "seconds": args.seconds, "completed": len(concurrent),
                "throughput_tasks_per_s": len(concurrent) / args.seconds,
                "latency_under_load": {"median_ms": percentile(concurrent, 50), "p99_ms": percentile(concurrent, 99)},
            },
            "slow_handler": {
                "handler_ms": 10, "in_flight": args.in_flight, "completed": len(slow),
                "throughput_tasks_per_s": len(slow) / args.seconds,
                "latency_under_load": {"median_ms": percentile(slow, 50), "p99_ms": percentile(slow, 99)},
            },
            "rss_idle_lone_node_kb": idle_rss, "rss_idle_anon_kb": idle_anon,
            "connect_cold_process": {"spawn_to_connected": {
                "median_ms": percentile(cold_starts, 50), "max_ms": percentile(cold_starts, 100), "runs": args.cold_starts}},
        }))
    finally:
        for process in processes:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["bench", "serve", "worker", "cold"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peer")
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cold-starts", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("ELO_TRACKER_HOST", "127.0.0.1:9")  # never the public tracker
    asyncio.run({"bench": bench, "serve": serve, "worker": worker, "cold": cold}[args.role](args))


if __name__ == "__main__":
    main()
