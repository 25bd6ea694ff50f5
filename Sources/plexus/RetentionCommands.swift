import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "What the node keeps: list retention policies (default), add, remove, run a sweep.",
        subcommands: [RetentionListCommand.self, RetentionAddCommand.self, RetentionRemoveCommand.self, RetentionRunCommand.self],
        defaultSubcommand: RetentionListCommand.self)
}

struct RetentionListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The policies in force (config.yaml's first).")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let list = try await global.client().retentionPolicies()
            if global.json { return Output.printJSON(list) }
            if list.policies.isEmpty { print("no retention policies (sweeps every \(list.intervalS) s)") }
            for policy in list.policies { print(describe(policy)) }
        }
    }
}

struct RetentionAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a policy: a scope (every topic, one topic or one author) and at least one bound.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only this topic.")
    var topic: String?

    @Option(name: .long, help: "Only this author (an agent id; own entries only when it is this agent).")
    var author: String?

    @Option(name: .customLong("max-age"), help: "Remove entries received longer ago than this: 90, 45s, 30m, 12h, 7d, 2w.")
    var maxAge: String?

    @Option(name: .customLong("max-count"), help: "Keep at most this many entries per topic (the newest received).")
    var maxCount: Int64?

    @Option(name: .customLong("compact-key"), help: "Keep only the newest entry per value of this JSON content path ($.key).")
    var compactKey: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let author = try self.author.map { text throws(PlexusError) in try AgentID.parse(text) }
            let request = RetentionPolicyRequest(
                topic: topic, author: author, maxAgeS: try maxAge.map(RetentionPolicyRequest.seconds(from:)), maxCount: maxCount,
                compactKey: compactKey)
            let policy = try await global.client().addRetentionPolicy(try request.validated())
            if global.json { Output.printJSON(policy) } else { print(describe(policy)) }
        }
    }
}

struct RetentionRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a policy added at run time.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The policy's id (p1, p2, …).")
    var id: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let policy = try await global.client().removeRetentionPolicy(id)
            if global.json { Output.printJSON(policy) } else { print("removed \(describe(policy))") }
        }
    }
}

struct RetentionRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Sweep now; print what each policy removed.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let run = try await global.client().runRetention()
            if global.json { return Output.printJSON(run) }
            print("removed \(run.removed) entries in \(run.tookMs) ms; \(run.collapsed) tombstones collapsed into low-water marks; \(run.blobsCollected) blobs (\(run.blobBytesCollected) bytes) collected")
            for policy in run.policies { print("  \(policy.id): \(policy.removed)") }
        }
    }
}

private func describe(_ policy: RetentionPolicyView) -> String {
    var parts = [policy.id, policy.topic.map { "topic \($0)" } ?? policy.author.map { "author \($0.short)" } ?? "every topic"]
    if let maxAge = policy.maxAgeS { parts.append("max age \(maxAge) s") }
    if let maxCount = policy.maxCount { parts.append("max count \(maxCount)") }
    if let key = policy.compactKey { parts.append("compact by \(key)") }
    parts.append("(\(policy.source))")
    return parts.joined(separator: "  ")
}
