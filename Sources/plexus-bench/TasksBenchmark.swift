import ArgumentParser
import Foundation
import Logging
import PlexusClient
import PlexusCore
import PlexusNode

/// `plexus-bench tasks`: three processes on 127.0.0.1 — a bootstrap `plexus serve`, a worker
/// (`plexus-bench task-worker`, an in-process `echo` handler) and this process, a node that
/// sends tasks through the Swift API with 64-byte payloads. The worker is reached by dialling
/// the address in its directory record, learnt through the bootstrap node.
struct TasksBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "Task round trips: sequential, 50 in flight, with a 10 ms handler; RSS and cold start.")

    @Option(help: "Sequential round trips.")
    var sequential = 1_000

    @Option(help: "Tasks in flight in the concurrent phases.")
    var inFlight = 50

    @Option(help: "Seconds per concurrent phase.")
    var seconds = 10.0

    @Option(help: "Cold starts to time.")
    var coldStarts = 5

    /// 62 characters: 64 bytes as a JSON string.
    static let payload = JSONValue.string(String(repeating: "p", count: 62))

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-tasks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let bootstrap = try ServeNode(directory: root.appendingPathComponent("bootstrap"), arguments: ["--no-announce"])
        defer { bootstrap.stop() }
        try await bootstrap.ready()
        try await Task.sleep(for: .seconds(2))  // idle: nothing connected yet
        let idleRSS = residentKiB(pid: bootstrap.process.processIdentifier) ?? -1
        // Private memory: what one more node costs; the rest is code pages shared by every
        // process of the same binary and libraries.
        let idleAnonymous = residentKiB(pid: bootstrap.process.processIdentifier, field: "RssAnon") ?? -1

        let workerDirectory = root.appendingPathComponent("worker")
        let worker = try TaskWorker.start(in: workerDirectory, peer: bootstrap.meshAddress)
        defer { worker.terminate() }

        let client = try Self.openNode(root.appendingPathComponent("client"), peer: bootstrap.meshAddress, announce: false)
        let running = Task { try await client.run() }
        defer { running.cancel() }
        let workerID = try await Self.waitForWorker(client, directory: workerDirectory)

        for _ in 0..<100 { _ = try await roundTrip(client, to: workerID, payload: Self.payload) }  // warm-up, and the dial
        var sequentialSamples = LatencySamples()
        let beforeSequential = ProcessCosts(worker: worker.processIdentifier)
        for _ in 0..<sequential {
            let started = ContinuousClock.now
            _ = try await roundTrip(client, to: workerID, payload: Self.payload)
            sequentialSamples.add(ContinuousClock.now - started)
        }
        let sequentialCosts = ProcessCosts(worker: worker.processIdentifier).since(beforeSequential, tasks: sequential)
        let beforeConcurrent = ProcessCosts(worker: worker.processIdentifier)
        let concurrent = try await load(client, to: workerID, payload: Self.payload)
        let concurrentCosts = ProcessCosts(worker: worker.processIdentifier).since(beforeConcurrent, tasks: concurrent.completed)
        let slow = try await load(client, to: workerID, payload: .object(["sleep_ms": .integer(10), "data": Self.payload]))
        let cold = try await coldStart(root, bootstrap: bootstrap.meshAddress)

        try printJSON([
            "scenario": "tasks", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "payload_bytes": 64,
            "sequential": [
                "round_trips": sequential, "median_ms": sequentialSamples.percentile(50), "p90_ms": sequentialSamples.percentile(90),
                "p99_ms": sequentialSamples.percentile(99), "per_task": sequentialCosts,
            ],
            "concurrent": [
                "in_flight": inFlight, "seconds": seconds, "completed": concurrent.completed,
                "throughput_tasks_per_s": Double(concurrent.completed) / seconds,
                "latency_under_load": ["median_ms": concurrent.latency.percentile(50), "p99_ms": concurrent.latency.percentile(99)],
                "per_task": concurrentCosts,
            ],
            "slow_handler": [
                "handler_ms": 10, "in_flight": inFlight, "completed": slow.completed,
                "throughput_tasks_per_s": Double(slow.completed) / seconds,
                "latency_under_load": ["median_ms": slow.latency.percentile(50), "p99_ms": slow.latency.percentile(99)],
            ],
            "rss_idle_lone_node_kb": idleRSS, "rss_idle_anon_kb": idleAnonymous,
            "connect_cold_process": ["spawn_to_connected": ["median_ms": cold.percentile(50), "max_ms": cold.percentile(100), "runs": coldStarts]],
            "targets": [
                "sequential.median_ms": 0.2, "concurrent.throughput_tasks_per_s": 45_000, "slow_handler.throughput_tasks_per_s": 4_000,
                "rss_idle_lone_node_kb": 30_720, "connect_cold_process.spawn_to_connected.median_ms": 50,
            ],
        ])
    }

    /// One task sent and waited for; fails the benchmark unless it completes.
    private func roundTrip(_ node: Node, to worker: AgentID, payload: JSONValue) async throws -> TaskView {
        let task = try await node.sendTask(SendTaskRequest(to: worker, capability: "echo", payload: payload, waitMs: 30_000))
        guard task.state == .completed else { throw BenchmarkError("task ended \(task.state.rawValue): \(task.error?.message ?? "")") }
        return task
    }

    /// `inFlight` lanes sending one task after another for `seconds`.
    private func load(_ node: Node, to worker: AgentID, payload: JSONValue) async throws -> (completed: Int, latency: LatencySamples) {
        let end = ContinuousClock.now + .seconds(seconds)
        return try await withThrowingTaskGroup(of: LatencySamples.self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    var samples = LatencySamples()
                    while ContinuousClock.now < end {
                        let started = ContinuousClock.now
                        _ = try await roundTrip(node, to: worker, payload: payload)
                        samples.add(ContinuousClock.now - started)
                    }
                    return samples
                }
            }
            var all = LatencySamples()
            for try await samples in group { all.merge(samples) }
            return (all.values.count, all)
        }
    }

    /// Spawns `plexus serve --peer bootstrap` and times until it reports a connected peer.
    private func coldStart(_ root: URL, bootstrap: String) async throws -> LatencySamples {
        var samples = LatencySamples()
        for run in 0..<coldStarts {
            let directory = root.appendingPathComponent("cold-\(run)")
            // The identity and token exist beforehand: a start, not a first-time setup.
            let setup = try ServeNode(directory: directory, arguments: ["--no-announce"])
            try await setup.ready()
            setup.stop()
            let started = ContinuousClock.now
            let node = try ServeNode(directory: directory, arguments: ["--no-announce", "--peer", bootstrap])
            defer { node.stop() }
            let deadline = started + .seconds(30)
            var connected = false
            while !connected, ContinuousClock.now < deadline {
                if let client = try? NodeClient(dataDirectory: directory.path, timeout: .seconds(2)),
                   let peers = try? await client.connectedPeers(), !peers.isEmpty {
                    connected = true
                } else {
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            guard connected else { throw BenchmarkError("a cold node did not connect within 30 s") }
            samples.add(ContinuousClock.now - started)
        }
        return samples
    }

    static func openNode(_ directory: URL, peer: String?, announce: Bool) throws -> Node {
        var config = NodeConfig(
            dataDirectory: directory.path, listen: HostPort(host: "127.0.0.1", port: 0),
            peers: try peer.map { text throws(PlexusError) in [try HostPort.parse(text, defaultHost: "127.0.0.1")] } ?? [])
        config.agent.announce = announce
        config.logLevel = "error"
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        return try Node.open(config: config, logger: logger) { () throws(PlexusError) in nil }
    }

    /// Reads the worker's id from its data directory and waits until its record is known.
    static func waitForWorker(_ node: Node, directory: URL) async throws -> AgentID {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: directory.appendingPathComponent("worker.id"), encoding: .utf8),
               let id = try? AgentID.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)),
               (try? await node.agent(id)) != nil {
                return id
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchmarkError("the worker did not announce itself within 30 s")
    }
}

/// CPU time and context switches of the sender (this process) and the worker so far: what
/// a phase cost per task is the difference of two of these.
private struct ProcessCosts {
    let senderCPU = ProcessCPU.seconds()
    let workerCPU: Double
    let senderSwitches = contextSwitches(pid: getpid()) ?? 0
    let workerSwitches: Int

    init(worker: Int32) {
        workerCPU = processCPUSeconds(pid: worker) ?? 0
        workerSwitches = contextSwitches(pid: worker) ?? 0
    }

    /// Per task since `earlier`: CPU microseconds (the worker's in clock ticks of 10 ms, so
    /// read it over thousands of tasks) and context switches of each side.
    func since(_ earlier: ProcessCosts, tasks: Int) -> [String: Double] {
        let count = Double(max(tasks, 1))
        return [
            "sender_cpu_us": (senderCPU - earlier.senderCPU) / count * 1e6,
            "worker_cpu_us": (workerCPU - earlier.workerCPU) / count * 1e6,
            "sender_switches": Double(senderSwitches - earlier.senderSwitches) / count,
            "worker_switches": Double(workerSwitches - earlier.workerSwitches) / count,
        ]
    }
}

/// `plexus-bench task-worker`: a node with an in-process `echo` handler (it waits
/// `sleep_ms` first when the payload asks), for `plexus-bench tasks`.
struct TaskWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "task-worker", shouldDisplay: false)

    @Option var data: String
    @Option var peer: String

    /// Starts `plexus-bench task-worker` on `directory`, connected to `peer`.
    static func start(in directory: URL, peer: String) throws -> Process {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        worker.arguments = ["task-worker", "--data", directory.path, "--peer", peer]
        worker.standardOutput = FileHandle.nullDevice
        worker.standardError = FileHandle.nullDevice
        try worker.run()
        return worker
    }

    func run() async throws {
        let node = try TasksBenchmark.openNode(URL(fileURLWithPath: data), peer: peer, announce: true)
        await node.onTask("echo") { context in
            if case .object(let fields) = context.payload, case .integer(let milliseconds)? = fields["sleep_ms"] {
                try await Task.sleep(for: .milliseconds(milliseconds))
            }
            return context.payload
        }
        try Data(node.id.description.utf8).write(to: URL(fileURLWithPath: data).appendingPathComponent("worker.id"))
        try await node.run()
    }
}
