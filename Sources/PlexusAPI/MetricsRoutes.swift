import Foundation
import Hummingbird
import NIOCore
import PlexusCore
import PlexusNode
import Prometheus
import Synchronization

/// Prometheus metrics at `GET /metrics` (text exposition format 0.0.4, token required like
/// every route but health). Counters that the code increments as things happen (entries
/// in and out, API requests and errors) live in the registry already; the node's own tallies
/// (mesh frames, connections, gossip by kind, peers, store size) are read at scrape time.
struct MetricsRoutes: APIRouteCollection {
    let node: Node
    let registry: PrometheusCollectorRegistry
    private let tallies = ScrapedTallies()

    init(node: Node, registry: PrometheusCollectorRegistry) {
        self.node = node
        self.registry = registry
    }

    func register(on router: Router<APIRequestContext>) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: try await exposition())))
        }
    }

    /// Every metric in the text exposition format, the node's tallies brought up to date.
    func exposition() async throws -> [UInt8] {
        try await collect()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    private func collect() async throws {
        let status = try await node.status()
        registry.makeGauge(name: "plexus_uptime_seconds").set(Double(status.uptimeMs) / 1000)
        registry.makeGauge(name: "plexus_store_entries").set(Double(status.store.entries))
        registry.makeGauge(name: "plexus_store_authors").set(Double(status.store.authors))
        registry.makeGauge(name: "plexus_store_forked_authors").set(Double(status.store.forkedAuthors))
        guard let mesh = status.mesh else { return }
        registry.makeGauge(name: "plexus_peers").set(Double(mesh.peers))
        advance("plexus_frames_total", ["direction": "in"], to: mesh.counts.framesIn)
        advance("plexus_frames_total", ["direction": "out"], to: mesh.counts.framesOut)
        advance("plexus_handshakes_total", [:], to: mesh.counts.handshakesCompleted)
        advance("plexus_connections_total", ["direction": "inbound"], to: mesh.counts.connectionsAccepted)
        advance("plexus_connections_total", ["direction": "outbound"], to: mesh.counts.connectionsDialed)
        for (reason, count) in mesh.counts.closed {
            advance("plexus_connections_closed_total", ["reason": reason], to: count)
        }
        for (kind, count) in mesh.gossipIn {
            advance("plexus_gossip_messages_total", ["direction": "in", "kind": kind], to: count)
        }
        for (kind, count) in mesh.gossipOut {
            advance("plexus_gossip_messages_total", ["direction": "out", "kind": kind], to: count)
        }
        advance("plexus_gossip_dropped_total", [:], to: mesh.gossipDropped)
    }

    /// Moves a registry counter up to a tally the node keeps itself.
    private func advance(_ name: String, _ labels: [String: String], to value: Int) {
        let pairs = labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let delta = tallies.delta(name + pairs.map { "|\($0.0)=\($0.1)" }.joined(), to: value)
        // Made even when nothing happened yet, so a scrape shows the zero.
        let counter = pairs.isEmpty ? registry.makeCounter(name: name) : registry.makeCounter(name: name, labels: pairs)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}

/// The node tallies as last reported to the registry, so each scrape adds only what is new.
final class ScrapedTallies: Sendable {
    private let last = Mutex<[String: Int]>([:])

    /// How much `key` grew since the last call (0 if it did not, or went backwards).
    func delta(_ key: String, to value: Int) -> Int {
        last.withLock { last in
            let previous = last[key] ?? 0
            last[key] = value
            return max(0, value - previous)
        }
    }
}
