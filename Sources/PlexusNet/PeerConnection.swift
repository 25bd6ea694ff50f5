import NIOCore
import PlexusCore
import Synchronization

/// One mesh connection and its live statistics.
public final class PeerConnection: Sendable {
    public enum Direction: String, Sendable, Codable { case inbound, outbound }

    /// What `plexus peers` and `GET /v1/peers` show.
    public struct Info: Sendable, Equatable, Codable {
        public var agentID: AgentID?
        public var address: String
        public var direction: Direction
        public var connectedMs: Int64
        public var rttMs: Double?
        public var bytesIn: Int
        public var bytesOut: Int
        public var framesIn: Int
        public var framesOut: Int

        enum CodingKeys: String, CodingKey {
            case agentID = "agent_id", address, direction, connectedMs = "connected_ms", rttMs = "rtt_ms"
            case bytesIn = "bytes_in", bytesOut = "bytes_out", framesIn = "frames_in", framesOut = "frames_out"
        }
    }

    let channel: any Channel
    /// The remote IP, for per-IP caps.
    let ip: String
    private let state: Mutex<(info: Info, closeReason: String?)>

    init(channel: any Channel, direction: Direction, nowMs: Int64) {
        self.channel = channel
        let remote = channel.remoteAddress
        self.ip = remote?.ipAddress ?? "unknown"
        let address = remote.map { address in
            (address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "?") + ":" + String(address.port ?? 0)
        } ?? "unknown"
        state = Mutex((Info(address: address, direction: direction, connectedMs: nowMs, bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0), nil))
    }

    public var info: Info { state.withLock { $0.info } }

    var agentID: AgentID? { state.withLock { $0.info.agentID } }

    /// Why the connection ended, when this side knows (an error, a limit); nil otherwise.
    var closeReason: String? { state.withLock { $0.closeReason } }

    func update(_ body: (inout Info) -> Void) { state.withLock { body(&$0.info) } }

    /// Records the first reason given for closing.
    func noteClose(_ reason: String) {
        state.withLock { if $0.closeReason == nil { $0.closeReason = reason } }
    }

    /// Closes the connection for `reason`.
    func close(_ reason: String) {
        noteClose(reason)
        channel.close(promise: nil)
    }
}
