import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// What the node keeps: store counts, retention policies and tombstones, and the blob store
/// (use against the quota, blobs held, transfers under way).
struct PanelStorePages: PanelPageCollection {
    let routes: PanelRoutes
    var service: LocalNodeService { routes.service }

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/store") { request, context in
            let offset = try PanelQuery(request).offset()
            let status = try await service.status()
            let retention = try await service.retentionPolicies()
            let blobs = try await service.blobs(limit: PanelRoutes.pageSize, offset: offset)
            let model = StoreModel(
                entries: "\(status.store.entries)", authors: "\(status.store.authors)", tombstones: "\(status.store.tombstones)",
                interval: Show.duration(ms: Int64(retention.intervalS) * 1000),
                tombstoneMaxAge: Show.duration(ms: retention.tombstoneMaxAgeS * 1000),
                policies: retention.policies.map(Policy.init),
                blobsUsed: Show.bytes(blobs.usedBytes), blobsQuota: Show.bytes(blobs.quotaBytes),
                blobsUse: "\(blobs.usedBytes)", blobsMax: "\(max(1, blobs.quotaBytes))", blobCount: "\(blobs.count)",
                maxBlob: Show.bytes(blobs.maxBlobBytes),
                blobs: blobs.blobs.map {
                    BlobRow(id: $0.id.description, shortID: Show.short($0.id), size: Show.bytes($0.size), pinned: $0.pinned,
                            references: "\($0.references)", added: Show.time($0.addedMs), used: Show.time($0.usedMs))
                },
                pager: Pager(path: "/ui/store", query: [:], offset: offset, size: PanelRoutes.pageSize, total: blobs.count),
                fetching: blobs.fetching.map {
                    Fetch(id: Show.short($0.id), fetched: Show.bytes($0.fetchedBytes), size: $0.size.map { Show.bytes($0) } ?? "?",
                          sources: "\($0.sources)")
                })
            return routes.render("store", title: "Store", section: "/ui/store", context, model)
        }
    }

    struct StoreModel {
        let entries: String
        let authors: String
        let tombstones: String
        let interval: String
        let tombstoneMaxAge: String
        let policies: [Policy]
        let blobsUsed: String
        let blobsQuota: String
        let blobsUse: String
        let blobsMax: String
        let blobCount: String
        let maxBlob: String
        let blobs: [BlobRow]
        let pager: Pager
        let fetching: [Fetch]
    }

    struct Policy {
        let id: String
        let scope: String
        let rule: String
        let source: String

        init(_ policy: RetentionPolicyView) {
            id = policy.id
            scope = [policy.scope, policy.topic.map { "topic \($0)" }, policy.author.map { "author \(Show.short($0))" }]
                .compactMap { $0 }.joined(separator: ", ")
            rule = [
                policy.maxAgeS.map { "older than \(Show.duration(ms: $0 * 1000))" }, policy.maxCount.map { "beyond \($0) entries" },
                policy.compactKey.map { "compacted by \($0)" },
            ].compactMap { $0 }.joined(separator: "; ")
            source = policy.source
        }
    }

    struct BlobRow {
        let id: String
        let shortID: String
        let size: String
        let pinned: Bool
        let references: String
        let added: String
        let used: String
    }

    struct Fetch {
        let id: String
        let fetched: String
        let size: String
        let sources: String
    }
}

/// The Prometheus figures people look at, as small charts: one chart per metric family, a
/// bar per labelled series.
struct PanelMetricsPage: PanelPageCollection {
    let routes: PanelRoutes
    /// The families shown, in order.
    static let families = [
        "plexus_store_entries", "plexus_peers", "plexus_entries_in_total", "plexus_entries_published_total", "plexus_entries_sent_total",
        "plexus_frames_total", "plexus_gossip_messages_total", "plexus_connections_total", "plexus_connections_closed_total",
        "plexus_tasks_relayed_total", "plexus_api_requests_total", "plexus_api_errors_total", "plexus_blob_bytes_stored",
        "plexus_blob_bytes_fetched_total", "plexus_blob_bytes_served_total", "plexus_retention_entries_removed_total",
        "plexus_panel_refused_total",
    ]
    static let maxSeries = 20

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/metrics") { _, context in
            let text = try await routes.metrics.exposition()
            let model = MetricsModel(charts: Self.charts(String(decoding: text, as: UTF8.self)))
            return routes.render("metrics", title: "Metrics", section: "/ui/metrics", context, model)
        }
    }

    struct MetricsModel {
        let charts: [Chart]
    }

    struct Chart {
        let name: String
        let series: [Series]
    }

    struct Series {
        let label: String
        let value: String
        let raw: String
        let max: String
    }

    /// The exposition's samples grouped by family (`_bucket`, `_sum`, `_count` of histograms
    /// left out), the largest series first.
    static func charts(_ exposition: String) -> [Chart] {
        var samples: [String: [(labels: String, value: Double)]] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            let labels = series.dropFirst(name.count).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            samples[String(name), default: []].append((labels.isEmpty ? "total" : labels, value))
        }
        return families.compactMap { family in
            guard let series = samples[family], !series.isEmpty else { return nil }
            let top = series.sorted { $0.value > $1.value }.prefix(maxSeries)
            let largest = max(1, top.first?.value ?? 1)
            return Chart(name: family, series: top.map {
                Series(label: $0.labels.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: ",", with: ", "), value: Self.number($0.value), raw: "\($0.value)", max: "\(largest)")
            })
        }
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : String(format: "%.3g", value)
    }
}
