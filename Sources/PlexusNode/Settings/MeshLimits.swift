import Configuration
import PlexusCore

/// The mesh transport's limits (`mesh:` in `config.yaml`, `PLEXUS_MESH_*`).
public struct MeshLimits: Sendable, Equatable {
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

    /// Reads the section from a reader scoped to `mesh`; each missing key keeps its default.
    init(reading config: ConfigReader) throws(PlexusError) {
        let defaults = MeshLimits()
        handshakeTimeoutMs = config.int(forKey: "handshake_timeout_ms", default: defaults.handshakeTimeoutMs)
        idleTimeoutMs = config.int(forKey: "idle_timeout_ms", default: defaults.idleTimeoutMs)
        maxConnections = config.int(forKey: "max_connections", default: defaults.maxConnections)
        maxConnectionsPerIP = config.int(forKey: "max_connections_per_ip", default: defaults.maxConnectionsPerIP)
        maxFrameBytes = config.int(forKey: "max_frame_bytes", default: defaults.maxFrameBytes)
        frameRate = config.double(forKey: "frame_rate", default: defaults.frameRate)
        frameBurst = config.double(forKey: "frame_burst", default: defaults.frameBurst)
        syncIntervalMs = config.int(forKey: "sync_interval_ms", default: defaults.syncIntervalMs)
        ihaveRate = config.double(forKey: "ihave_rate", default: defaults.ihaveRate)
        ihaveBurst = config.double(forKey: "ihave_burst", default: defaults.ihaveBurst)
        try validate()
    }

    func validate() throws(PlexusError) {
        guard handshakeTimeoutMs >= 100, idleTimeoutMs >= 1000, maxConnections >= 1, maxConnectionsPerIP >= 1,
              (1024...(64 << 20)).contains(maxFrameBytes), frameRate > 0, frameBurst >= 1, syncIntervalMs >= 100,
              ihaveRate > 0, ihaveBurst >= 256
        else {
            throw PlexusError(.invalidConfig, "mesh limits out of range (handshake_timeout_ms ≥ 100, idle_timeout_ms ≥ 1000, caps ≥ 1, max_frame_bytes 1024...67108864, rates > 0, sync_interval_ms ≥ 100, ihave_burst ≥ 256)")
        }
    }

    /// The section's lines in the `config.yaml` template.
    static let template = """
        # Limits of the mesh transport; every one has a default.   env: PLEXUS_MESH_<KEY>
        mesh:
          handshake_timeout_ms: 5000    # a connection must finish its handshake in this time
          idle_timeout_ms: 45000        # closed when nothing arrives for this long (pings every 15 s)
          max_connections: 256
          max_connections_per_ip: 32
          max_frame_bytes: 4194304      # a larger announced frame closes the connection at once
          frame_rate: 50000             # sustained frames per second per peer ...
          frame_burst: 100000           # ... and the burst above it; beyond, the peer is dropped
          sync_interval_ms: 5000        # anti-entropy: reconcile with each topic neighbour this often
          ihave_rate: 5000              # entry ids a peer may announce per second ...
          ihave_burst: 20000            # ... and at once; beyond, it is counted as misbehaving

        """
}
