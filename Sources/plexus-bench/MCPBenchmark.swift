import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PlexusCore

/// `plexus-bench mcp`: MCP calls over Streamable HTTP to one `plexus serve` node on
/// 127.0.0.1, as an MCP client makes them (one session, `MCP-Protocol-Version` set):
/// sequential `ping`, `tools/call status` and `tools/call publish`, then `status` calls
/// with several in flight.
struct MCPBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp", abstract: "MCP round trips over Streamable HTTP: ping, a read tool, a write tool.")

    @Option(help: "Sequential calls per method.")
    var sequential = 1_000

    @Option(help: "Calls in flight in the throughput phase.")
    var inFlight = 16

    @Option(help: "Seconds of the throughput phase.")
    var seconds = 5.0

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-mcp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let node = try ServeNode(directory: root.appendingPathComponent("node"), arguments: ["--no-announce"])
        defer { node.stop() }
        _ = try await node.ready()
        let address = try String(contentsOf: node.directory.appendingPathComponent("api.addr"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let token = try String(contentsOf: node.directory.appendingPathComponent("api.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let caller = try await MCPCaller.open(url: "http://\(address)/mcp", token: token)
        let calls: [(String, String)] = [
            ("ping", #""method":"ping""#),
            ("status", #""method":"tools/call","params":{"name":"status","arguments":{}}"#),
            ("publish", #""method":"tools/call","params":{"name":"publish","arguments":{"content":{"text":"mcp bench"}}}"#),
        ]
        for (_, call) in calls {  // warm-up: the connection pool, first-use caches
            for _ in 0..<50 { try await caller.call(call) }
        }
        var figures: [String: Any] = [:]
        for (name, call) in calls {
            var samples = LatencySamples()
            for _ in 0..<sequential {
                let started = ContinuousClock.now
                try await caller.call(call)
                samples.add(ContinuousClock.now - started)
            }
            figures[name] = ["calls": sequential, "p50_ms": samples.percentile(50), "p99_ms": samples.percentile(99)]
        }
        let status = calls[1].1
        let completed = try await callInLanes(inFlight, for: seconds) { lane, count in
            // Requests running at once need ids of their own.
            try await caller.call(status, id: lane * 1_000_000_000 + count)
        }
        try printJSON([
            "scenario": "mcp", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount], "sequential": figures,
            "status_in_flight": ["in_flight": inFlight, "seconds": seconds, "completed": completed, "calls_per_s": Double(completed) / seconds],
        ])
    }
}

/// One MCP session over Streamable HTTP.
private struct MCPCaller: Sendable {
    let url: String
    let token: String
    let session: String

    static func open(url: String, token: String) async throws -> MCPCaller {
        let opening = MCPCaller(url: url, token: token, session: "")
        let (reply, headers) = try await opening.post(
            #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"plexus-bench","version":"1"}}}"#)
        guard let session = headers.first(name: "Mcp-Session-Id"), reply.contains(#""protocolVersion""#) else {
            throw BenchmarkError("initialize failed: \(reply.prefix(300))")
        }
        let caller = MCPCaller(url: url, token: token, session: session)
        _ = try await caller.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        return caller
    }

    /// One request (its members after `jsonrpc` and `id`); fails on an error or a failed tool.
    func call(_ members: String, id: Int = 1) async throws {
        let (reply, _) = try await post(#"{"jsonrpc":"2.0","id":"# + String(id) + "," + members + "}")
        guard reply.contains(#""result""#), !reply.contains(#""isError":true"#) else {
            throw BenchmarkError("an MCP call failed: \(reply.prefix(300))")
        }
    }

    private func post(_ body: String) async throws -> (String, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "Content-Type", value: "application/json")
        if !session.isEmpty {
            request.headers.add(name: "Mcp-Session-Id", value: session)
            request.headers.add(name: "MCP-Protocol-Version", value: "2025-11-25")
        }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok || response.status == .accepted else {
            throw BenchmarkError("MCP answered \(response.status): \(String(buffer: answer).prefix(300))")
        }
        return (String(buffer: answer), response.headers)
    }
}
