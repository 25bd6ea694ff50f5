import ArgumentParser
import Crypto
import Foundation
import PlexusClient
import PlexusCore
import PlexusProtocol

/// `plexus-bench groups`: private groups (issue 13): catch-up of sealed entries against
/// plain ones in the same run, rekey cost by group size, compile_context latency over a
/// large group, and how long a new member waits to read its first entry.
struct GroupsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "Group ingest vs plain (catch-up between two plexus serve), rekey ms/bytes, compile_context p50/p99, add-to-first-read over 5 processes.")

    @Option(help: "Entries of each kind a late member catches up on.")
    var entries = 5_000

    @Option(help: "Claims in the group compile_context runs over.")
    var claims = 100_000

    @Option(help: "compile_context queries to time.")
    var queries = 500

    @Option(help: "Token budget of each compile_context.")
    var budget = 2_000

    @Option(parsing: .upToNextOption, help: "Group sizes to time a rekey for.")
    var members: [Int] = [10, 100, 700]

    @Flag(help: "Skip the scenarios that start plexus serve processes.")
    var skipProcesses = false

    func run() async throws {
        var result: [String: Any] = ["scenario": "groups", "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount]]
        result["rekey"] = try measureRekey()
        result["compile_context"] = measureContext()
        if !skipProcesses {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-groups-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            result["catch_up"] = try await measureCatchUp(root: root.appendingPathComponent("catch-up"))
            result["add_to_first_read"] = try await measureAddToFirstRead(root: root.appendingPathComponent("add"))
        }
        try printJSON(result)
    }

    // MARK: - Rekey

    /// A rekey for n members as the node writes it: one fresh key sealed with HPKE to each,
    /// one earlier key wrapped under it, split over as many signed `group.rekey` entries as
    /// the 64 KiB entry limit needs (PROTOCOL.md §13.3). Time to build and sign, entries and
    /// bytes, and time for the last member to find and open its seal.
    private func measureRekey() throws -> [[String: Any]] {
        let previous = (epoch: EntryID(hashing: Data("previous".utf8)), key: GroupKeyRing.freshKey())
        let manager = AgentKey()
        let group = EntryID(hashing: Data("group".utf8))
        return try members.map { count in
            let agents = (0..<count).map { _ in AgentKey() }
            let bindings = agents.map { ExchangeKey.binding(of: $0) }
            var samples = LatencySamples()
            var run: [SignedEntry] = []
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let parts = try GroupKeyRing.epochParts(GroupKeyRing.freshKey(), to: bindings, wrapping: [previous])
                run = []
                for part in parts {
                    var keys = part
                    var body = Plexus_EntryBody()
                    body.author = manager.id.bytes.asData
                    body.seq = UInt64(run.count + 2)
                    body.prev = (run.last?.id ?? group).bytes.asData
                    body.timeMs = 1
                    body.type = GroupEntryType.rekey
                    body.topic = "group/00112233445566778899aabbccddeeff"
                    body.refs = [(run.last?.id ?? group).bytes.asData]
                    if let first = run.first { keys.continues = first.id.bytes.asData }
                    var control = Plexus_GroupControl()
                    control.group = group.bytes.asData
                    control.rekey = keys
                    body.content = try control.serializedBytes()
                    run.append(try SignedEntry(signing: body, with: manager))
                }
                samples.add(ContinuousClock.now - start)
            }
            let sizes = run.map { $0.encoded().count }
            // The last member finds and opens its seal.
            let last = agents[count - 1]
            let openStart = ContinuousClock.now
            let controls = try run.map { try ControlEntry($0) }
            let sealed = try controls.lazy.compactMap { $0.epochKeys?.sealed.first { $0.recipient == Data(last.id.bytes.prefix(8)) } }
                .first.required("the last member's seal")
            _ = try AgentSeal.open(
                encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext, recipient: last.id, key: ExchangeKey(agent: last),
                label: SealedEpochKey.label)
            let openMs = (ContinuousClock.now - openStart).seconds * 1000
            let bytes = sizes.reduce(0, +)
            return [
                "members": count, "build_ms_p50": samples.percentile(50), "entries": run.count, "bytes": bytes,
                "largest_entry_bytes": sizes.max() ?? 0, "bytes_per_member": Double(bytes) / Double(count), "open_ms": openMs,
            ]
        }
    }

    // MARK: - compile_context

    private func measureContext() -> [String: Any] {
        var log = GroupLog()
        var index = BM25Index()
        let authors = (0..<8).map { AgentID(bytes: [UInt8](repeating: UInt8($0 + 1), count: 32))! }
        let buildStart = ContinuousClock.now
        for n in 0..<claims {
            // Every tenth claim replies to an earlier one; every hundredth supersedes its author's previous claim.
            let parent = n % 10 == 9 ? [EntryID(hashing: Data("claim \(n / 2)".utf8))] : []
            let supersedes = n % 100 == 99 ? [EntryID(hashing: Data("claim \(n - 8)".utf8))] : []
            let item = GroupItem(
                id: EntryID(hashing: Data("claim \(n)".utf8)), author: authors[n % 8], seq: UInt64(n / 8 + 1), timeMs: Int64(n), cursor: Int64(n + 1), expiresMs: nil,
                inner: GroupInner(type: "claim", tags: ["t\(n % 16)"], refs: parent, supersedes: supersedes, content: .object(["text": .string(Corpus.searchable(n))])))
            log.insert(item)
            index.add(item.id, text: ContextCompiler.searchText(of: item))
        }
        let buildSeconds = (ContinuousClock.now - buildStart).seconds
        var generator = SplitMix(seed: 42)
        var samples = LatencySamples()
        var pieces = 0
        var tokens = 0
        for _ in 0..<queries {
            let query = (0..<3).map { _ in Corpus.zipfWord(&generator) }.joined(separator: " ")
            let start = ContinuousClock.now
            let context = ContextCompiler.compile(ContextQuery(text: query, budgetTokens: budget, nowMs: Int64(claims)), log: log, index: index)
            samples.add(ContinuousClock.now - start)
            pieces += context.pieces.count
            tokens += context.tokens
        }
        return [
            "claims": claims, "queries": queries, "budget_tokens": budget, "index_build_s": buildSeconds,
            "p50_ms": samples.percentile(50), "p99_ms": samples.percentile(99),
            "mean_pieces": Double(pieces) / Double(max(queries, 1)), "mean_tokens": Double(tokens) / Double(max(queries, 1)),
        ]
    }

    // MARK: - Catch-up: sealed against plain

    /// A member that was offline catches up: first on `entries` plain entries, then (offline
    /// again) on `entries` sealed group entries it must verify, open and index. Each is
    /// timed from the member's start to the last entry held (plain) or opened (group).
    private func measureCatchUp(root: URL) async throws -> [String: Any] {
        let owner = try ServeNode(directory: root.appendingPathComponent("owner"))
        defer { owner.stop() }
        let ownerClient = try await owner.ready()
        let memberDirectory = root.appendingPathComponent("member")
        var member = try ServeNode(directory: memberDirectory, arguments: ["--peer", owner.meshAddress])
        let memberID = try await member.ready().identity().agentID
        try await until("the owner knows the member's exchange key") {
            (try? await ownerClient.agent(memberID))?.record.exchangeKey != nil
        }
        let group = try await ownerClient.createGroup(GroupCreateRequest(name: "bench")).id.hex
        _ = try await ownerClient.addMember(group: group, GroupMemberRequest(agent: memberID))
        let memberClient = try await member.ready()
        try await until("the member joined the group") { (try? await memberClient.group(group))?.role == .member }
        let plainBefore = try await memberClient.status().store.entries
        member.stop()

        try await publish(entries, with: ownerClient) { n in try await ownerClient.publish(PublishRequest(content: .object(["text": .string(Corpus.searchable(n))]))) }
        member = try ServeNode(directory: memberDirectory, arguments: ["--peer", owner.meshAddress])
        var start = ContinuousClock.now
        let plainClient = try await member.ready()
        try await until("the member caught up on plain entries", within: .seconds(600)) {
            ((try? await plainClient.status().store.entries) ?? 0) >= plainBefore + entries
        }
        let plainSeconds = (ContinuousClock.now - start).seconds
        member.stop()

        try await publish(entries, with: ownerClient) { n in
            _ = try await ownerClient.publish(group: group, PublishRequest(type: "claim", content: .object(["text": .string(Corpus.searchable(n))])))
        }
        member = try ServeNode(directory: memberDirectory, arguments: ["--peer", owner.meshAddress])
        defer { member.stop() }
        start = ContinuousClock.now
        let groupClient = try await member.ready()
        try await until("the member opened every group entry", within: .seconds(600)) {
            ((try? await groupClient.group(group))?.entries ?? 0) >= entries
        }
        let groupSeconds = (ContinuousClock.now - start).seconds
        return [
            "entries": entries, "plain_s": plainSeconds, "plain_entries_per_s": Double(entries) / plainSeconds,
            "group_s": groupSeconds, "group_entries_per_s": Double(entries) / groupSeconds, "group_over_plain": plainSeconds / groupSeconds,
        ]
    }

    /// Publishes `count` entries, 16 requests in flight.
    private func publish(_ count: Int, with client: NodeClient, _ one: @escaping @Sendable (Int) async throws -> some Sendable) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            var next = 0
            for _ in 0..<min(16, count) {
                let n = next
                next += 1
                tasks.addTask { _ = try await one(n) }
            }
            while try await tasks.next() != nil {
                guard next < count else { continue }
                let n = next
                next += 1
                tasks.addTask { _ = try await one(n) }
            }
        }
    }

    // MARK: - Add to first read

    /// Five processes (an owner and four others joined to it). For each of the four: the
    /// time from the owner's add to the member reading the entry the owner sealed right after.
    private func measureAddToFirstRead(root: URL) async throws -> [String: Any] {
        let owner = try ServeNode(directory: root.appendingPathComponent("owner"))
        defer { owner.stop() }
        let ownerClient = try await owner.ready()
        var others: [ServeNode] = []
        defer { for node in others { node.stop() } }
        var ids: [AgentID] = []
        for n in 0..<4 {
            let node = try ServeNode(directory: root.appendingPathComponent("m\(n)"), arguments: ["--peer", owner.meshAddress])
            others.append(node)
            ids.append(try await node.ready().identity().agentID)
        }
        try await until("the owner knows every exchange key") {
            for id in ids where (try? await ownerClient.agent(id))?.record.exchangeKey == nil { return false }
            return true
        }
        let group = try await ownerClient.createGroup(GroupCreateRequest(name: "latency")).id.hex
        var samples = LatencySamples()
        for (n, node) in others.enumerated() {
            let client = try await node.ready()
            let text = "first read \(n)"
            let start = ContinuousClock.now
            _ = try await ownerClient.addMember(group: group, GroupMemberRequest(agent: ids[n]))
            _ = try await ownerClient.publish(group: group, PublishRequest(content: .object(["text": .string(text)])))
            try await until("member \(n) reads its first entry", within: .seconds(120)) {
                let page = try? await client.groupFeed(group: group, GroupFeedRequest(FeedRequest(limit: 1000)))
                return page?.entries.contains { $0.content?.objectValue?["text"] == .string(text) } ?? false
            }
            samples.add(ContinuousClock.now - start)
        }
        return [
            "processes": 5, "samples_ms": samples.values, "p50_ms": samples.percentile(50), "max_ms": samples.percentile(100),
        ]
    }
}

extension Optional {
    /// The value, or a benchmark error naming what was missing.
    fileprivate func required(_ what: String) throws -> Wrapped {
        guard let self else { throw BenchmarkError("missing: \(what)") }
        return self
    }
}
