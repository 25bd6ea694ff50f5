import Foundation
import Logging
import Metrics
import PlexusCore
import PlexusProtocol
import PlexusStore

/// The node's retention (DESIGN §14): the policies from `config.yaml` and those added at
/// run time, and the sweep that applies them every `retention_interval_s` and on demand.
actor Retention {
    private let store: EntryStore
    private let me: AgentID
    private let settings: RetentionSettings
    private let blobGraceS: Int64
    private let logger: Logger
    private let removedEntries = Counter(label: "plexus_retention_entries_removed_total")
    private let collectedBlobBytes = Counter(label: "plexus_blob_bytes_collected_total")

    init(store: EntryStore, me: AgentID, settings: RetentionSettings, blobGraceS: Int64, logger: Logger) {
        self.store = store
        self.me = me
        self.settings = settings
        self.blobGraceS = blobGraceS
        self.logger = logger
    }

    func policies() async throws(PlexusError) -> RetentionPolicyList {
        let fromFile = settings.policies.enumerated().map { index, request in
            RetentionPolicyView(
                id: "c\(index + 1)", topic: request.topic, author: request.author, maxAgeS: request.maxAgeS, maxCount: request.maxCount,
                compactKey: request.compactKey, source: "config", createdMs: nil)
        }
        let added = try await store.retention.policies().map(Self.view)
        return RetentionPolicyList(policies: fromFile + added, intervalS: settings.intervalS, tombstoneMaxAgeS: settings.tombstoneMaxAgeS)
    }

    func add(_ request: RetentionPolicyRequest) async throws(PlexusError) -> RetentionPolicyView {
        let stored = try await store.retention.add(try request.validated())
        logger.info("retention policy added", metadata: ["id": "p\(stored.id)"])
        return Self.view(stored)
    }

    /// A policy added at run time, as listed (`p` and its row id).
    private static func view(_ stored: RetentionStore.Stored) -> RetentionPolicyView {
        RetentionPolicyView(
            id: "p\(stored.id)", topic: stored.request.topic, author: stored.request.author, maxAgeS: stored.request.maxAgeS,
            maxCount: stored.request.maxCount, compactKey: stored.request.compactKey, source: "api", createdMs: stored.createdMs)
    }

    func remove(_ id: String) async throws(PlexusError) -> RetentionPolicyView {
        guard let policy = try await policies().policies.first(where: { $0.id == id }) else {
            throw PlexusError(.notFound, "no retention policy \(id.prefix(40))")
        }
        guard policy.source == "api", let number = Int64(id.dropFirst()) else {
            throw PlexusError(.rejected, "policy \(id) is set in config.yaml; change it there")
        }
        try await store.retention.remove(number)
        return policy
    }

    /// Applies every policy once.
    func run() async throws(PlexusError) -> RetentionRunView {
        let started = ContinuousClock.now
        var results: [RetentionRunView.PolicyResult] = []
        for policy in try await policies().policies {
            let request = policy.request
            let rule = RetentionStore.Rule(
                topic: request.topic, author: request.author, maxAgeMs: request.maxAgeS.map { $0 * 1000 }, maxCount: request.maxCount,
                compactKey: try request.compactKey.map { text throws(PlexusError) in try JSONPath(text) })
            let removed = try await store.retention.sweep(rule, keeping: me, excludedPrefix: GroupEntryType.topicPrefix)
            results.append(.init(id: policy.id, removed: removed))
        }
        let removed = results.reduce(0) { $0 + $1.removed }
        if removed > 0 { logger.info("retention removed entries", metadata: ["count": "\(removed)"]) }
        removedEntries.increment(by: removed)
        let collapsed = try await store.collapseTombstones(olderThanMs: settings.tombstoneMaxAgeS * 1000)
        if collapsed > 0 { logger.info("tombstones collapsed into low-water marks", metadata: ["count": "\(collapsed)"]) }
        let blobs = try await store.blobs.collect(graceMs: blobGraceS * 1000)
        if blobs.count > 0 {
            collectedBlobBytes.increment(by: Int(clamping: blobs.bytes))
            logger.info("blobs collected", metadata: ["count": "\(blobs.count)", "bytes": "\(blobs.bytes)"])
        }
        let took = ContinuousClock.now - started
        return RetentionRunView(
            removed: removed, policies: results, collapsed: collapsed, blobsCollected: blobs.count, blobBytesCollected: blobs.bytes, tookMs: took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Sweeps every `interval_s` until cancelled.
    func runSweeps() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(settings.intervalS))
            guard !Task.isCancelled else { return }
            do {
                _ = try await run()
            } catch {
                logger.error("retention sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
