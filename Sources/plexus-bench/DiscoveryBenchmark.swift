import ArgumentParser
import Foundation
import PlexusNamespaces

/// `plexus-bench discovery`: how long a node takes from its process start to a connection
/// with a node already running on the same LAN, found with no address given: by LAN beacons
/// (`--lan-discovery`) and by multicast DNS (`--mdns`). Each round runs in a fresh LAN of
/// network namespaces that the benchmark makes and removes (root and iproute2 needed); the
/// connection time is the one the running node records for it.
struct DiscoveryBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discovery", abstract: "Discovery time (process start to connected) by LAN beacons and by mDNS, in network namespaces.")

    @Option(help: "Rounds per method.")
    var rounds = 5

    @Option(help: "Seconds between beacons (discovery: beacon_interval_s; the node's default is 5).")
    var beaconInterval = 5

    func run() async throws {
        guard NamespaceLAN.available else { throw BenchmarkError("needs root and /usr/sbin/ip to make network namespaces") }
        let methods: [(name: String, flags: [String], config: String)] = [
            ("lan", ["--lan-discovery"], "discovery:\n  beacon_interval_s: \(beaconInterval)\n"),
            ("mdns", ["--mdns"], ""),
        ]
        var figures: [String: Any] = [:]
        for method in methods {
            var samples = LatencySamples()
            for _ in 0..<rounds {
                samples.add(try await round(flags: method.flags, config: method.config))
            }
            figures[method.name] = [
                "rounds": rounds, "p50_ms": samples.percentile(50), "max_ms": samples.percentile(100),
                "samples_ms": samples.values.map { ($0 * 10).rounded() / 10 },
            ]
        }
        try printJSON([
            "scenario": "discovery", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "beacon_interval_s": beaconInterval, "methods": figures,
        ])
    }

    /// One round on a fresh LAN: A runs; B starts; the time until A records B connected.
    private func round(flags: [String], config: String) async throws -> Duration {
        let lan = try NamespaceLAN(hosts: 2)
        defer { lan.remove() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-discovery-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try NamespacedServe(lan: lan, host: 0, directory: root.appendingPathComponent("a"), config: config, flags: flags)
        defer { a.stop() }
        try await until("A answers", within: .seconds(30)) { try a.cli(["status"]).status == 0 }
        let bDirectory = root.appendingPathComponent("b")
        let startMs = Int64(Date().timeIntervalSince1970 * 1000)
        let b = try NamespacedServe(lan: lan, host: 1, directory: bDirectory, config: config, flags: flags)
        defer { b.stop() }
        var bID = ""
        try await until("B answers", within: .seconds(30)) {
            bID = try b.cli(["id"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            return !bID.isEmpty
        }
        var connectedMs: Int64?
        try await until("A connected to B", within: .seconds(60)) {
            connectedMs = try a.connectedMs(to: bID)
            return connectedMs != nil
        }
        return .milliseconds((connectedMs ?? startMs) - startMs)
    }
}

/// A `plexus serve` in one host namespace of a `NamespaceLAN`, listening on all of that
/// namespace's addresses, driven by the CLI run in the same namespace.
private final class NamespacedServe {
    let lan: NamespaceLAN
    let host: Int
    let directory: URL
    let process: Process

    init(lan: NamespaceLAN, host: Int, directory: URL, config: String, flags: [String]) throws {
        self.lan = lan
        self.host = host
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.yaml"))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = lan.command(host, [
            ServeNode.binary.path, "serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "0.0.0.0:0", "--no-announce",
            "--log-level", "warning",
        ] + flags)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// `plexus ARGS --data DIR` in the namespace: its exit status and standard output.
    func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        child.arguments = lan.command(host, [ServeNode.binary.path] + arguments + ["--data", directory.path])
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        return (child.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// When this node's connection to `agent` was made (ms since the epoch), if it is connected.
    func connectedMs(to agent: String) throws -> Int64? {
        let peers = (try? JSONSerialization.jsonObject(with: Data(try cli(["peers", "--json"]).output.utf8))) as? [[String: Any]] ?? []
        let peer = peers.first { $0["agent_id"] as? String == agent && $0["state"] as? String == "connected" }
        return (peer?["connected_ms"] as? NSNumber)?.int64Value
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
