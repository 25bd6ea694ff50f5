import Foundation
import Logging
import PlexusCore
import PlexusNode

/// Runs a command per arriving entry with the entry's JSON on stdin: never through a
/// shell (entry data cannot become a command), at most `concurrency` at once, killed after
/// the timeout, each author limited to `perAuthorPerMinute` runs, optionally only for
/// authors in an allowlist. At most `maxQueued` entries wait; beyond, they are skipped.
actor CommandHook {
    static let maxQueued = 256
    /// Most authors whose rate is tracked; beyond, the oldest buckets are forgotten.
    static let maxTrackedAuthors = 10_000

    private let executable: URL
    private let arguments: [String]
    private let timeout: Duration
    private let concurrency: Int
    private let perMinute: Double
    private let allowed: Set<AgentID>?
    private let logger: Logger
    private var queue: [Data] = []
    private var running = 0
    private var buckets: [AgentID: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(command: String, settings: HookSettings, logger: Logger) throws(PlexusError) {
        let words = try HookSettings.arguments(of: command)
        guard let program = words.first else { throw PlexusError(.invalidConfig, "the hook command is empty") }
        executable = try Self.locate(program)
        arguments = Array(words.dropFirst())
        timeout = .milliseconds(settings.timeoutMs)
        concurrency = settings.concurrency
        perMinute = Double(settings.perAuthorPerMinute)
        allowed = try settings.allowAuthorsFile.map { path throws(PlexusError) in try Self.loadAllowlist(path) }
        self.logger = logger
    }

    func offer(author: AgentID, json: Data) {
        if let allowed, !allowed.contains(author) {
            return  // not on the allowlist
        }
        guard take(from: author) else {
            logger.debug("hook skipped: author over its rate", metadata: ["author": "\(author.short)"])
            return
        }
        guard queue.count < Self.maxQueued else {
            logger.info("hook skipped: \(Self.maxQueued) entries already wait")
            return
        }
        queue.append(json)
        startNext()
    }

    private func startNext() {
        while running < concurrency, !queue.isEmpty {
            let json = queue.removeFirst()
            running += 1
            Task {
                await run(json)
                finished()
            }
        }
    }

    private func finished() {
        running -= 1
        startNext()
    }

    /// One run: the entry on stdin, output discarded.
    private nonisolated func run(_ json: Data) async {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let (exits, exit) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { exit.yield($0.terminationStatus); exit.finish() }
        do {
            try process.run()
        } catch {
            logger.warning("hook command failed to start", metadata: ["error": "\(error)"])
            return
        }
        let pid = process.processIdentifier
        // Written off this task: a command that does not read must not hold it. SIGPIPE is
        // ignored by `plexus serve`, so a command that exits early only fails the write.
        let writer = Task.detached {
            try? input.fileHandleForWriting.write(contentsOf: json + Data("\n".utf8))
            try? input.fileHandleForWriting.close()
        }
        // True when it had to stop the command: SIGTERM at the timeout, SIGKILL a second later.
        let killer = Task { () -> Bool in
            do { try await Task.sleep(for: timeout) } catch { return false }
            kill(pid, SIGTERM)
            try? await Task.sleep(for: .seconds(1))
            if !Task.isCancelled { kill(pid, SIGKILL) }
            return true
        }
        var status: Int32 = -1
        for await code in exits { status = code }
        killer.cancel()
        writer.cancel()
        if await killer.value {
            logger.info("hook command killed after the timeout", metadata: ["timeout": "\(timeout)"])
        } else if status != 0 {
            logger.debug("hook command failed", metadata: ["status": "\(status)"])
        }
    }

    private func take(from author: AgentID) -> Bool {
        let now = ContinuousClock.now
        if buckets.count > Self.maxTrackedAuthors { buckets.removeAll() }
        var bucket = buckets[author] ?? (perMinute, now)
        bucket.tokens = min(perMinute, bucket.tokens + perMinute * ((now - bucket.at) / .seconds(60)))
        bucket.at = now
        guard bucket.tokens >= 1 else {
            buckets[author] = bucket
            return false
        }
        bucket.tokens -= 1
        buckets[author] = bucket
        return true
    }

    /// The program's path: as given when it contains a slash, else found on `PATH`.
    static func locate(_ program: String) throws(PlexusError) -> URL {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw PlexusError(.invalidConfig, "hook command \(program) is not an executable file")
            }
            return URL(fileURLWithPath: program)
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw PlexusError(.invalidConfig, "hook command \(program) is not on PATH")
    }

    static func loadAllowlist(_ path: String) throws(PlexusError) -> Set<AgentID> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PlexusError(.invalidConfig, "cannot read the hook allowlist \(path)")
        }
        var allowed: Set<AgentID> = []
        for line in text.split(separator: "\n") {
            let word = line.trimmingCharacters(in: .whitespaces)
            if word.isEmpty || word.hasPrefix("#") { continue }
            allowed.insert(try AgentID.parse(word))
        }
        return allowed
    }
}
