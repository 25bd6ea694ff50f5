import Foundation
import PlexusCore
import PlexusNode

/// One command line, run as a process without a shell: split into words like a shell
/// would (quotes group), the program found on PATH. Each run gets bytes on stdin, is
/// stopped (SIGTERM, then SIGKILL a second later) at its timeout or when the calling task is
/// cancelled, and can have what it prints captured, up to a limit, through temporary files
/// (so a chatty command never blocks on a full pipe).
public struct CommandRunner: Sendable {
    public let executable: URL
    public let arguments: [String]

    /// How a run ended.
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        /// Whether it was stopped (timeout or cancellation) rather than exiting by itself.
        public var stopped: Bool
    }

    public init(command: String) throws(PlexusError) {
        let words = try HookSettings.arguments(of: command)
        guard let program = words.first else { throw PlexusError(.invalidConfig, "the command is empty") }
        executable = try Self.locate(program)
        arguments = Array(words.dropFirst())
    }

    /// Runs the command once. `nil` output when not captured.
    public func run(input: Data, timeout: Duration, capture: Bool, maxOutputBytes: Int = 16 << 20) async throws(PlexusError) -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let stdin = Pipe()
        process.standardInput = stdin
        let files = capture ? (Self.temporaryFile(), Self.temporaryFile()) : nil
        defer {
            if let files {
                try? FileManager.default.removeItem(at: files.0)
                try? FileManager.default.removeItem(at: files.1)
            }
        }
        if let files {
            process.standardOutput = try? FileHandle(forWritingTo: files.0)
            process.standardError = try? FileHandle(forWritingTo: files.1)
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        let (exits, exit) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { exit.yield($0.terminationStatus); exit.finish() }
        do {
            try process.run()
        } catch {
            throw PlexusError(.dependencyError, "cannot start \(executable.path): \(error)")
        }
        let pid = process.processIdentifier
        // Written off this task: a command that does not read must not hold it. A command
        // that exits early only fails the write (SIGPIPE is ignored by the CLI and serve).
        let writer = Task.detached {
            try? stdin.fileHandleForWriting.write(contentsOf: input)
            try? stdin.fileHandleForWriting.close()
        }
        let stopper = Task { () -> Bool in
            do { try await Task.sleep(for: timeout) } catch { return false }
            Self.stop(pid)
            return true
        }
        var status: Int32 = -1
        await withTaskCancellationHandler {
            for await code in exits { status = code }
        } onCancel: {
            Self.stop(pid)
        }
        stopper.cancel()
        writer.cancel()
        let stopped = await stopper.value || Task.isCancelled
        func read(_ url: URL?) -> Data {
            guard let url, let handle = try? FileHandle(forReadingFrom: url) else { return Data() }
            defer { try? handle.close() }
            return (try? handle.read(upToCount: maxOutputBytes)) ?? Data()
        }
        return Outcome(status: status, stdout: read(files?.0), stderr: read(files?.1), stopped: stopped)
    }

    /// SIGTERM now, SIGKILL a second later if still running.
    private static func stop(_ pid: Int32) {
        kill(pid, SIGTERM)
        Task {
            try? await Task.sleep(for: .seconds(1))
            kill(pid, SIGKILL)
        }
    }

    private static func temporaryFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-command-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        return url
    }

    static func locate(_ program: String) throws(PlexusError) -> URL {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw PlexusError(.invalidConfig, "\(program) is not an executable file")
            }
            return URL(fileURLWithPath: program)
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw PlexusError(.invalidConfig, "\(program) is not on PATH")
    }
}
