import Foundation
import PlexusClient

/// A `plexus serve` child process on 127.0.0.1 (the executable beside plexus-bench), for
/// scenarios that measure real nodes.
final class ServeNode {
    let directory: URL
    let process: Process
    private(set) var client: NodeClient?

    /// The `plexus` executable built with the same configuration as this benchmark.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("plexus")
    }

    /// Starts a node on `directory` (writing `config` to its config.yaml first, if given).
    init(directory: URL, config: String? = nil, arguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw BenchmarkError("plexus executable not found beside plexus-bench (build it with the same configuration)")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let config {
            try Data(config.utf8).write(to: directory.appendingPathComponent("config.yaml"))
        }
        self.directory = directory
        process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--log-level", "warning"]
            + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until the API answers and the mesh listens; returns the client.
    @discardableResult
    func ready(within timeout: Duration = .seconds(30)) async throws -> NodeClient {
        if let client { return client }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw BenchmarkError("plexus serve exited early in \(directory.path)") }
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("mesh.addr").path),
               let client = try? NodeClient(dataDirectory: directory.path, timeout: .seconds(10)),
               (try? await client.health()) != nil {
                self.client = client
                return client
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchmarkError("plexus serve did not start within \(timeout)")
    }

    var meshAddress: String {
        ((try? String(contentsOf: directory.appendingPathComponent("mesh.addr"), encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// CPU time (user + system) the process has used so far, from /proc (Linux); nil
    /// elsewhere or once it has exited.
    var cpuSeconds: Double? {
        processCPUSeconds(pid: process.processIdentifier)
    }

    deinit { stop() }
}

/// Polls `condition` every 5 ms until it holds, or fails after `within`.
func until(_ what: String, within: Duration = .seconds(120), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + within
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw BenchmarkError("timed out: \(what)")
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
