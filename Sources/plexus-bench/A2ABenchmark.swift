import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import PlexusClient
import PlexusCore

/// `plexus-bench a2a`: task round trips through a node's A2A gateway against the same tasks
/// through its HTTP API (what `plexus task send` does, without starting a process). Two
/// processes on 127.0.0.1: a `plexus serve --a2a` node G, and a worker node W
/// (`plexus-bench task-worker`, an in-process `echo` handler) connected to it; this process
/// is the client of both interfaces. Each call waits for the task's end: A2A `SendMessage`
/// (blocking, the default) and `POST /v1/tasks` with `wait_ms`.
struct A2ABenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "a2a", abstract: "A2A SendMessage round trips through the gateway against the API's task send, to one mesh worker.")

    @Option(help: "Sequential round trips per interface.")
    var sequential = 500

    @Option(help: "Calls in flight in the throughput phase.")
    var inFlight = 16

    @Option(help: "Seconds of the throughput phase, per interface.")
    var seconds = 5.0

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-a2a-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let gateway = try ServeNode(directory: root.appendingPathComponent("gateway"), arguments: ["--no-announce", "--a2a", "127.0.0.1:0"])
        defer { gateway.stop() }
        let api = try await gateway.ready()
        let workerDirectory = root.appendingPathComponent("worker")
        let worker = try TaskWorker.start(in: workerDirectory, peer: gateway.meshAddress)
        defer { worker.terminate() }
        var workerID: AgentID?
        try await until("the worker is in G's directory", within: .seconds(60)) {
            if let text = try? String(contentsOf: workerDirectory.appendingPathComponent("worker.id"), encoding: .utf8),
               let id = try? AgentID.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)), (try? await api.agent(id)) != nil {
                workerID = id
            }
            return workerID != nil
        }
        guard let workerID else { return }
        var address = ""
        try await until("the gateway listens") {
            address = ((try? String(contentsOf: gateway.directory.appendingPathComponent("a2a.addr"), encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return !address.isEmpty
        }
        let token = try String(contentsOf: gateway.directory.appendingPathComponent("a2a.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let a2a = A2ACaller(url: "http://\(address)/", token: token, worker: workerID)

        let viaAPI: @Sendable () async throws -> Void = {
            let task = try await api.sendTask(SendTaskRequest(
                to: workerID, capability: "echo", payload: .object(["text": .string(A2ACaller.text)]), waitMs: 30_000))
            guard task.state == .completed else { throw BenchmarkError("an API task ended \(task.state.rawValue)") }
        }
        let viaA2A: @Sendable () async throws -> Void = { try await a2a.send() }
        for _ in 0..<50 {  // warm-up: the dial, the connection pools
            try await viaAPI()
            try await viaA2A()
        }
        var figures: [String: Any] = [:]
        for (name, call) in [("a2a", viaA2A), ("api", viaAPI)] {
            var samples = LatencySamples()
            for _ in 0..<sequential {
                let started = ContinuousClock.now
                try await call()
                samples.add(ContinuousClock.now - started)
            }
            let completed = try await callInLanes(inFlight, for: seconds) { _, _ in try await call() }
            figures[name] = [
                "sequential": ["round_trips": sequential, "p50_ms": samples.percentile(50), "p99_ms": samples.percentile(99)],
                "throughput": ["in_flight": inFlight, "seconds": seconds, "completed": completed, "round_trips_per_s": Double(completed) / seconds],
            ]
        }
        try printJSON([
            "scenario": "a2a", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount], "interfaces": figures,
        ])
    }
}

/// Sends A2A `SendMessage` calls (blocking) to one worker's `echo` skill.
private struct A2ACaller: Sendable {
    static let text = String(repeating: "p", count: 62)
    let url: String
    let token: String
    let worker: AgentID

    func send() async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "A2A-Version", value: "1.0")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = """
            {"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"\(UUID().uuidString)","role":"ROLE_USER",\
            "parts":[{"text":"\(Self.text)"}]},"metadata":{"skill":"echo","agent":"\(worker)"}}}
            """
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok, String(buffer: answer).contains("TASK_STATE_COMPLETED") else {
            throw BenchmarkError("an A2A call ended \(response.status): \(String(buffer: answer).prefix(300))")
        }
    }
}
