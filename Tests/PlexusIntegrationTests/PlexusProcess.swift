import AsyncHTTPClient
import Foundation
import PlexusClient
import PlexusCore

/// The `plexus` executable built alongside the tests (or `$PLEXUS_BIN`).
enum PlexusBinary {
    static let url: URL = {
        if let path = ProcessInfo.processInfo.environment["PLEXUS_BIN"] { return URL(fileURLWithPath: path) }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [beside, beside.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("plexus")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        // swift test keeps test bundles and executables in the same build directory.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/plexus")
    }()
}

/// A temporary data directory, removed when released.
final class TempDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestFailure("stdout is not a JSON object: \(stdout)")
        }
        return object
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The environment for child processes: no inherited Plexus settings, HOME in the temp dir.
func childEnvironment(home: String, extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLEXUS_") }
    environment["HOME"] = home
    environment.merge(extra) { $1 }
    return environment
}

/// Runs `plexus` with arguments to completion (killed after `timeout`).
func runPlexus(
    _ arguments: [String], home: String, environment extra: [String: String] = [:], stdin: String? = nil,
    stdinFile: URL? = nil, timeout: Duration = .seconds(60)
) async throws -> CLIResult {
    let process = Process()
    process.executableURL = PlexusBinary.url
    process.arguments = arguments
    return try await runCapturing(process, home: home, environment: extra, stdin: stdin, stdinFile: stdinFile, timeout: timeout)
}

/// Runs a configured process to completion with stdout and stderr captured in files
/// (so large output cannot block it); killed after `timeout`.
/// With `stdinFile`, stdin is that file (a regular file, not a pipe).
func runCapturing(
    _ process: Process, home: String, environment extra: [String: String] = [:], stdin: String? = nil,
    stdinFile: URL? = nil, timeout: Duration
) async throws -> CLIResult {
    process.environment = childEnvironment(home: home, extra: extra)
    let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-out-\(UUID().uuidString)")
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-err-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    // Every descriptor opened here is closed here: the suite runs hundreds of processes,
    // and Foundation watches children with select(), which fails past descriptor 1023
    // (leaked handles of deleted output files once took the suite there, and it hung).
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    defer {
        try? outHandle.close()
        try? errHandle.close()
    }
    process.standardOutput = outHandle
    process.standardError = errHandle
    let input = Pipe()
    let inputFile = try stdinFile.map { try FileHandle(forReadingFrom: $0) }
    defer { try? inputFile?.close() }
    process.standardInput = inputFile ?? input
    let status = try await runToExit(process, timeout: timeout) {
        // The child has its own copies.
        try? outHandle.close()
        try? errHandle.close()
        try? inputFile?.close()
        try? input.fileHandleForReading.close()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
    }
    return CLIResult(
        status: status,
        stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// Where child `pid` is, as the process table tells it.
enum ChildState: Equatable {
    case running
    /// Exited and not yet reaped: `status` is its exit code, or its signal number when a
    /// signal ended it (as `Process.terminationStatus` reports them).
    case exited(status: Int32)
    /// Reaped (by Foundation) or never there.
    case gone

    init(pid: Int32) {
        guard kill(pid, 0) == 0 else {
            self = errno == ESRCH ? .gone : .running
            return
        }
        // Fields after the command's closing parenthesis start at field 3 (state);
        // field 52 is the exit code in waitpid(2) form, kept while the child is a zombie.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            self = .running
            return
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.first == "Z" else {
            self = .running
            return
        }
        guard fields.count > 49, let raw = Int32(fields[49].trimmingCharacters(in: .whitespacesAndNewlines)) else {
            self = .gone
            return
        }
        self = .exited(status: raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f)
    }
}

/// Waits for the running `process` to exit, with SIGKILL after `timeout`: its status from
/// `notices` (which its termination handler feeds) or from the process table, whichever
/// comes first; nil if neither gives one.
/// Foundation can lose a child's termination notice (seen once: a finished schemathesis
/// run left the suite waiting for good) or deliver it seconds late on a loaded machine
/// (a CI run once read -1 for a command that had exited 0); the process table cannot.
/// A zombie's exit status is read from /proc; once Foundation has reaped the child, its
/// status is the one Foundation recorded, and -1 only if none came within ten seconds.
func awaitExit(
    of process: Process, notices: (stream: AsyncStream<Int32>, continuation: AsyncStream<Int32>.Continuation), timeout: Duration
) async -> Int32? {
    let pid = process.processIdentifier
    // Both cancelled as soon as the process exits, so the pid cannot have been reused.
    let killer = Task {
        try await Task.sleep(for: timeout)
        kill(pid, SIGKILL)
    }
    let watcher = Task {
        while !Task.isCancelled {
            switch ChildState(pid: pid) {
            case .running:
                try? await Task.sleep(for: .milliseconds(200))
            case .exited(let status):
                notices.continuation.yield(status)
                notices.continuation.finish()
                return
            case .gone:
                let deadline = ContinuousClock.now + .seconds(10)
                while !Task.isCancelled, process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
                guard !Task.isCancelled else { return }
                notices.continuation.yield(process.isRunning ? -1 : process.terminationStatus)
                notices.continuation.finish()
                return
            }
        }
    }
    defer {
        killer.cancel()
        watcher.cancel()
    }
    for await status in notices.stream { return status }
    return nil
}

/// Starts `process`, runs `afterLaunch`, and waits for it to exit; SIGKILL after `timeout`.
func runToExit(_ process: Process, timeout: Duration, afterLaunch: () -> Void = {}) async throws -> Int32 {
    let exited = AsyncStream<Int32>.makeStream()
    process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
    try process.run()
    afterLaunch()
    guard let status = await awaitExit(of: process, notices: exited, timeout: timeout) else {
        throw TestFailure("process ended without a status")
    }
    return status
}

/// A real `plexus serve` process on 127.0.0.1 with a port picked by the OS.
final class ServeProcess {
    let directory: TempDirectory
    let process: Process
    let logURL: URL
    /// The log file as the child writes it; closed once the child is gone.
    private let logHandle: FileHandle
    private let exited = AsyncStream<Int32>.makeStream()
    let client: NodeClient

    /// Starts a node and waits until its API answers (at most `timeout`). Unless `announce`,
    /// the node does not announce itself, so its feed holds only what a test publishes.
    /// The bound is generous: the suite starts about twenty nodes at once, and under
    /// `stress-ng --cpu 2` debug-built nodes took over 30 s to answer (a run where 16 tests
    /// failed only on that); the wait ends as soon as the API answers or the process exits.
    init(
        directory: TempDirectory, arguments: [String] = [], environment: [String: String] = [:], announce: Bool = false,
        timeout: Duration = .seconds(120)
    ) async throws {
        self.directory = directory
        logURL = directory.file("serve.log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process = Process()
        process.executableURL = PlexusBinary.url
        process.arguments = ["serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0"]
            + (announce ? [] : ["--no-announce"]) + arguments
        process.environment = childEnvironment(home: directory.path, extra: environment)
        let logHandle = try FileHandle(forWritingTo: logURL)
        self.logHandle = logHandle
        process.standardOutput = logHandle
        process.standardError = logHandle
        process.standardInput = FileHandle.nullDevice
        let continuation = exited.continuation
        process.terminationHandler = { continuation.yield($0.terminationStatus); continuation.finish() }
        try process.run()
        // The child writes through its own copy.
        try? logHandle.close()

        let deadline = ContinuousClock.now + timeout
        var ready: NodeClient?
        while ready == nil, ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw TestFailure("plexus serve exited early: \(Self.read(logURL))")
            }
            if let client = try? NodeClient(dataDirectory: directory.path, timeout: .seconds(2)),
               (try? await client.health()) != nil,
               FileManager.default.fileExists(atPath: directory.file("mesh.addr").path) || arguments.contains("off") {
                ready = client
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard ready != nil else {
            kill(process.processIdentifier, SIGKILL)
            throw TestFailure("plexus serve did not become ready in \(timeout): \(Self.read(logURL))")
        }
        // The readiness probe gives up after 2 s; the tests' client waits as long as any
        // client would, so a slow answer on a busy machine is not a failure.
        client = try NodeClient(dataDirectory: directory.path)
    }

    private static func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    var log: String { Self.read(logURL) }

    var apiAddress: String { client.baseURL.replacingOccurrences(of: "http://", with: "") }

    /// The mesh listener's `host:port` (from `mesh.addr`).
    var meshAddress: String {
        ((try? String(contentsOf: directory.file("mesh.addr"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Host and port of the mesh listener, as separate arguments.
    var meshHostPort: [String] {
        let address = meshAddress
        guard let colon = address.lastIndex(of: ":") else { return [] }
        return [String(address[..<colon]), String(address[address.index(after: colon)...])]
    }

    var token: String {
        ((try? String(contentsOf: directory.file("api.token"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends `signal` and waits for the exit status (SIGKILL after `timeout`).
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        defer { try? logHandle.close() }
        return await awaitExit(of: process, notices: exited, timeout: timeout) ?? process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? logHandle.close()
    }
}
