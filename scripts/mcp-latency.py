#!/usr/bin/env python3
"""MCP call latency over Streamable HTTP, as a Python client sees it (httpx, one session).

Usage: mcp-latency.py URL TOKEN N      (URL e.g. http://127.0.0.1:7464/mcp; pip install httpx)

Makes N sequential calls each of ping, tools/call status and tools/call publish and prints
their p50 and p99 in ms as JSON. Each reply is read whole, whether a JSON body or an SSE
stream, so it times any MCP server's Streamable HTTP, not only this one's.
"""
import json
import sys
import time

import httpx


def main():
    url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as client:
        opened = client.post(url, headers=headers, content=json.dumps(
            {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "mcp-latency", "version": "1"}}}))
        headers["Mcp-Session-Id"] = opened.headers["mcp-session-id"]
        headers["MCP-Protocol-Version"] = "2025-11-25"
        client.post(url, headers=headers, content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))

        def run(method, params):
            samples = []
            for number in range(count):
                body = json.dumps({"jsonrpc": "2.0", "id": number + 1, "method": method, "params": params})
                started = time.perf_counter()
                reply = client.post(url, headers=headers, content=body)
                reply.read()
                samples.append((time.perf_counter() - started) * 1000)
                if reply.status_code != 200:
                    raise SystemExit(f"{method} answered {reply.status_code}: {reply.text[:300]}")
            samples.sort()
            return {"p50_ms": round(samples[len(samples) // 2], 3), "p99_ms": round(samples[int(len(samples) * 0.99)], 3)}

        print(json.dumps({
            "ping": run("ping", {}),
            "status": run("tools/call", {"name": "status", "arguments": {}}),
            "publish": run("tools/call", {"name": "publish", "arguments": {"content": {"text": "mcp-latency"}}}),
        }))


main()
