/// A mesh peer as `plexus peers` and `GET /v1/peers` show it: a connection, or a
/// remembered address (`--peer`, `POST /v1/peers`) that is not connected now.
public struct PeerView: Sendable, Equatable, Codable {
    /// Who dialled: this node (`outbound`) or the peer (`inbound`).
    public enum Direction: String, Sendable, Codable { case inbound, outbound }

    /// `connected`; a remembered peer without a connection is `dialling` (a dial is under
    /// way) or `waiting` (for its next redial, at `next_dial_ms`).
    public enum State: String, Sendable, Codable { case connected, dialling, waiting }

    /// Known once a handshake completed (for a remembered peer: who answered there last).
    public var agentID: AgentID?
    /// The remote `host:port` of the TCP connection, or the remembered address.
    public var address: String
    public var direction: Direction
    public var state: State = .connected
    /// Redialled when the connection drops and after a restart.
    public var remembered = false
    /// When the connection was made (ms since the epoch, local clock); nil when not connected.
    public var connectedMs: Int64?
    /// A remembered peer: when it was last connected, when it is dialled next, how many
    /// dials in a row failed and why the last one did.
    public var lastConnectedMs: Int64?
    public var nextDialMs: Int64?
    public var failedDials: Int?
    public var lastError: String?
    /// Round-trip time of the latest keepalive ping.
    public var rttMs: Double?
    public var bytesIn: Int
    public var bytesOut: Int
    public var framesIn: Int
    public var framesOut: Int

    public init(address: String, direction: Direction, connectedMs: Int64?) {
        self.address = address
        self.direction = direction
        self.connectedMs = connectedMs
        self.bytesIn = 0
        self.bytesOut = 0
        self.framesIn = 0
        self.framesOut = 0
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", address, direction, state, remembered, connectedMs = "connected_ms", rttMs = "rtt_ms"
        case bytesIn = "bytes_in", bytesOut = "bytes_out", framesIn = "frames_in", framesOut = "frames_out"
        case lastConnectedMs = "last_connected_ms", nextDialMs = "next_dial_ms", failedDials = "failed_dials", lastError = "last_error"
    }
}

/// What the mesh transport has done since the node started.
public struct MeshCounts: Sendable, Equatable, Codable {
    public var handshakesCompleted = 0
    public var connectionsAccepted = 0
    public var connectionsDialed = 0
    /// Connections refused or closed, by reason (e.g. `handshake: decryption_failed`,
    /// `frame_too_large`, `rate_limited`, `idle_timeout`, `too_many_connections`).
    public var closed: [String: Int] = [:]
    public var framesIn = 0
    public var framesOut = 0
    /// Frames dropped on arrival because no subsystem consumes their channel (a newer
    /// peer's kinds, or `Message` channels this build does not know).
    public var framesUnconsumed = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case handshakesCompleted = "handshakes_completed", connectionsAccepted = "connections_accepted"
        case connectionsDialed = "connections_dialed", closed, framesIn = "frames_in", framesOut = "frames_out"
        case framesUnconsumed = "frames_unconsumed"
    }
}

/// The mesh part of a node's status.
public struct MeshStatus: Sendable, Equatable, Codable {
    /// The bound mesh address, nil when not listening.
    public var listen: String?
    public var peers: Int
    public var counts: MeshCounts
    /// Gossip messages received since start, by kind (`push`, `duplicate` for pushes of
    /// entries already held, `ihave`, `graft`, `prune`, `join`, `sync`, `batch`, …).
    public var gossipIn: [String: Int]
    /// Gossip messages sent since start, by kind (`push` carries one entry, `batch` many).
    public var gossipOut: [String: Int]
    /// Gossip frames not sent because a peer's queue was full (repaired by gossip itself).
    public var gossipDropped: Int

    public init(
        listen: String?, peers: Int, counts: MeshCounts, gossipIn: [String: Int] = [:], gossipOut: [String: Int] = [:],
        gossipDropped: Int = 0
    ) {
        self.gossipOut = gossipOut
        self.listen = listen
        self.peers = peers
        self.counts = counts
        self.gossipIn = gossipIn
        self.gossipDropped = gossipDropped
    }

    enum CodingKeys: String, CodingKey {
        case listen, peers, counts, gossipIn = "gossip_in", gossipOut = "gossip_out", gossipDropped = "gossip_dropped"
    }
}

/// The body of `POST /v1/peers`.
public struct ConnectRequest: Sendable, Equatable, Codable {
    /// `host:port` of the peer's mesh port.
    public var address: String
    /// The agent id expected there; the connection fails if someone else answers.
    public var id: AgentID?

    public init(address: String, id: AgentID? = nil) {
        self.address = address
        self.id = id
    }
}
