import Foundation
import Logging
import PlexusCore
import PlexusNode

/// Runs a command per arriving entry (or direct message) with its JSON on stdin: never
/// through a shell (arriving data cannot become a command), at most `concurrency` at once,
/// killed after the timeout, each author (or sender) limited to `perAuthorPerMinute` runs,
/// optionally only for those in an allowlist. At most `maxQueued` wait; beyond, they are skipped.
actor CommandHook {
    static let maxQueued = 256
    /// Most authors whose rate is tracked; beyond, the oldest buckets are forgotten.
    static let maxTrackedAuthors = 10_000

    private let runner: CommandRunner
    private let timeout: Duration
    private let concurrency: Int
    private let perMinute: Double
    private let allowed: Set<AgentID>?
    private let logger: Logger
    private var queue: [Data] = []
    private var running = 0
    private var buckets: [AgentID: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(command: String, settings: HookSettings, logger: Logger) throws(PlexusError) {
        runner = try CommandRunner(command: command)
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
        do {
            let outcome = try await runner.run(input: json + Data("\n".utf8), timeout: timeout, capture: false)
            if outcome.stopped {
                logger.info("hook command killed after the timeout", metadata: ["timeout": "\(timeout)"])
            } else if outcome.status != 0 {
                logger.debug("hook command failed", metadata: ["status": "\(outcome.status)"])
            }
        } catch {
            logger.warning("hook command failed to start", metadata: ["error": "\(error)"])
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
