import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Peers: connections and remembered addresses (RTT, bytes, frames), topics with their
/// neighbours, replication state per peer and topic; connect and disconnect.
struct PanelPeerPages: PanelPageCollection {
    let routes: PanelRoutes
    var service: LocalNodeService { routes.service }

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/peers") { request, context in try await peers(request, context) }
        ui.post("/peers") { request, context in
            let form = try await PanelForm.read(request, session: context.panelSession)
            guard let address = form.string("address") else { throw PlexusError(.invalidArgument, "give the peer's host:port") }
            let id = try form.string("id").map { text throws(PlexusError) in try AgentID.parse(text) }
            _ = try await service.connect(ConnectRequest(address: address, id: id))
            return PanelRoutes.seeOther("/ui/peers")
        }
        ui.post("/peers/remove") { request, context in
            let form = try await PanelForm.read(request, session: context.panelSession)
            guard let peer = form.string("peer") else { throw PlexusError(.invalidArgument, "give the peer's agent id or host:port") }
            _ = try await service.removePeer(peer)
            return PanelRoutes.seeOther("/ui/peers")
        }
    }

    private func peers(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = PanelQuery(request)
        let offset = try query.offset()
        let peers = try await service.peers()
        let topics = try await service.topics()
        let sync = try await service.sync()
        let now = PanelRoutes.nowMs()
        let rows = peers.dropFirst(offset).prefix(PanelRoutes.pageSize).map { PeerRow($0, nowMs: now) }
        let model = PeersModel(
            peers: Array(rows),
            pager: Pager(path: "/ui/peers", query: [:], offset: offset, size: PanelRoutes.pageSize, total: peers.count),
            topics: topics.map { TopicRow(name: $0.name, neighbors: $0.neighbors.map(\.description), entries: "\($0.entries)", reserve: "\($0.reserve)") },
            sync: sync.map { SyncRow($0, nowMs: now) })
        return routes.render("peers", title: "Peers", section: "/ui/peers", context, model)
    }

    struct PeersModel {
        let peers: [PeerRow]
        let pager: Pager
        let topics: [TopicRow]
        let sync: [SyncRow]
    }

    struct PeerRow {
        let agent: String?
        let shortAgent: String
        let address: String
        let state: String
        let direction: String
        let remembered: Bool
        let rtt: String
        let bytesIn: String
        let bytesOut: String
        let frames: String
        let since: String
        let lastError: String?
        /// What the disconnect form names: the agent id when known, else the address.
        let key: String

        init(_ peer: PeerView, nowMs: Int64) {
            agent = peer.agentID?.description
            shortAgent = peer.agentID.map(Show.short) ?? "–"
            address = peer.address
            state = peer.state.rawValue
            direction = peer.direction.rawValue
            remembered = peer.remembered
            rtt = peer.rttMs.map { String(format: "%.2f ms", $0) } ?? "–"
            bytesIn = Show.bytes(peer.bytesIn)
            bytesOut = Show.bytes(peer.bytesOut)
            frames = "\(peer.framesIn) / \(peer.framesOut)"
            if let connected = peer.connectedMs {
                since = "for " + Show.duration(ms: nowMs - connected)
            } else if let next = peer.nextDialMs {
                since = "redial in " + Show.duration(ms: max(0, next - nowMs))
            } else {
                since = "–"
            }
            lastError = peer.lastError
            key = peer.agentID?.description ?? peer.address
        }
    }

    struct TopicRow {
        let name: String
        let neighbors: [String]
        let entries: String
        let reserve: String
    }

    struct SyncRow {
        let peer: String
        let shortPeer: String
        let topic: String
        let state: String
        let rounds: String
        let lastRound: String
        let received: String
        let sent: String

        init(_ sync: SyncView, nowMs: Int64) {
            peer = sync.peer.description
            shortPeer = Show.short(sync.peer)
            topic = sync.topic
            if sync.sending > 0 || sync.requested > 0 {
                state = "streaming: \(sync.requested) asked for, \(sync.sending) being sent"
            } else if sync.rounds == 0 {
                state = "not compared yet"
            } else {
                state = "in step"
            }
            rounds = "\(sync.rounds)"
            lastRound = sync.lastRoundMs.map { Show.duration(ms: nowMs - $0) + " ago" } ?? "–"
            received = "\(sync.entriesReceived)"
            sent = "\(sync.entriesSent)"
        }
    }
}
