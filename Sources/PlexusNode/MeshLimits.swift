import PlexusCore

/// The mesh transport's limits as configured in `config.yaml` under `mesh:`.
public struct MeshLimits: Sendable, Equatable, Codable {
    public var handshakeTimeoutMs: Int = 5000
    public var idleTimeoutMs: Int = 45000
    public var maxConnections: Int = 256
    public var maxConnectionsPerIP: Int = 32
    public var maxFrameBytes: Int = 4 << 20
    public var frameRate: Double = 50_000
    public var frameBurst: Double = 100_000
    /// How often anti-entropy reconciles with each topic neighbour.
    public var syncIntervalMs: Int = 5000
    /// Entry ids a peer may announce (IHAVE) per second, and at once; beyond, the excess is
    /// ignored and counted against the peer (each unknown id costs a timer and a GRAFT).
    public var ihaveRate: Double = 5_000
    public var ihaveBurst: Double = 20_000

    public init() {}

    enum CodingKeys: String, CodingKey {
        case handshakeTimeoutMs = "handshake_timeout_ms", idleTimeoutMs = "idle_timeout_ms"
        case maxConnections = "max_connections", maxConnectionsPerIP = "max_connections_per_ip"
        case maxFrameBytes = "max_frame_bytes", frameRate = "frame_rate", frameBurst = "frame_burst"
        case syncIntervalMs = "sync_interval_ms", ihaveRate = "ihave_rate", ihaveBurst = "ihave_burst"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MeshLimits()
        handshakeTimeoutMs = try container.decodeIfPresent(Int.self, forKey: .handshakeTimeoutMs) ?? defaults.handshakeTimeoutMs
        idleTimeoutMs = try container.decodeIfPresent(Int.self, forKey: .idleTimeoutMs) ?? defaults.idleTimeoutMs
        maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections) ?? defaults.maxConnections
        maxConnectionsPerIP = try container.decodeIfPresent(Int.self, forKey: .maxConnectionsPerIP) ?? defaults.maxConnectionsPerIP
        maxFrameBytes = try container.decodeIfPresent(Int.self, forKey: .maxFrameBytes) ?? defaults.maxFrameBytes
        frameRate = try container.decodeIfPresent(Double.self, forKey: .frameRate) ?? defaults.frameRate
        frameBurst = try container.decodeIfPresent(Double.self, forKey: .frameBurst) ?? defaults.frameBurst
        syncIntervalMs = try container.decodeIfPresent(Int.self, forKey: .syncIntervalMs) ?? defaults.syncIntervalMs
        ihaveRate = try container.decodeIfPresent(Double.self, forKey: .ihaveRate) ?? defaults.ihaveRate
        ihaveBurst = try container.decodeIfPresent(Double.self, forKey: .ihaveBurst) ?? defaults.ihaveBurst
    }

    func validate() throws(PlexusError) {
        guard handshakeTimeoutMs >= 100, idleTimeoutMs >= 1000, maxConnections >= 1, maxConnectionsPerIP >= 1,
              (1024...(64 << 20)).contains(maxFrameBytes), frameRate > 0, frameBurst >= 1, syncIntervalMs >= 100,
              ihaveRate > 0, ihaveBurst >= 256
        else {
            throw PlexusError(.invalidConfig, "mesh limits out of range (handshake_timeout_ms ≥ 100, idle_timeout_ms ≥ 1000, caps ≥ 1, max_frame_bytes 1024...67108864, rates > 0, sync_interval_ms ≥ 100, ihave_burst ≥ 256)")
        }
    }
}
