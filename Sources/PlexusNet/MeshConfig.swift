import NIOCore
import PlexusProtocol

/// Settings of the mesh transport (DESIGN §5). Every wait has a deadline and every
/// resource a cap.
public struct MeshConfig: Sendable {
    /// `host:port` to accept connections on; nil to only dial out.
    public var listenHost: String?
    public var listenPort: Int
    /// Nodes with different network keys cannot complete a handshake.
    public var networkKey: String
    public var handshakeTimeout: TimeAmount
    public var connectTimeout: TimeAmount
    /// A ping is sent this often on a quiet connection; it also measures RTT.
    public var keepaliveInterval: TimeAmount
    /// A connection on which nothing arrives for this long is closed.
    public var idleTimeout: TimeAmount
    public var maxConnections: Int
    public var maxConnectionsPerIP: Int
    /// Largest application frame accepted (DESIGN §5 default 4 MiB).
    public var maxFrameBytes: Int
    /// Sustained frames per second a peer may send, and the burst above it.
    public var frameRate: Double
    public var frameBurst: Double
    /// Bytes queued to one peer before writes wait (NIO write-buffer high watermark).
    public var sendQueueBytes: Int
    /// A peer whose queue stays full this long is dropped as too slow.
    public var slowPeerTimeout: TimeAmount
    /// Redial backoff for remembered peers: starts here, doubles, capped, with jitter.
    public var redialInitial: TimeAmount
    public var redialMax: TimeAmount

    public init(
        listenHost: String? = nil, listenPort: Int = 7465, networkKey: String = PlexusHandshake.defaultNetworkKey,
        handshakeTimeout: TimeAmount = .seconds(5), connectTimeout: TimeAmount = .seconds(5),
        keepaliveInterval: TimeAmount = .seconds(15), idleTimeout: TimeAmount = .seconds(45),
        maxConnections: Int = 256, maxConnectionsPerIP: Int = 32, maxFrameBytes: Int = 4 << 20,
        frameRate: Double = 5000, frameBurst: Double = 20000, sendQueueBytes: Int = 4 << 20,
        slowPeerTimeout: TimeAmount = .seconds(30), redialInitial: TimeAmount = .milliseconds(500),
        redialMax: TimeAmount = .seconds(60)
    ) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.networkKey = networkKey
        self.handshakeTimeout = handshakeTimeout
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.maxFrameBytes = maxFrameBytes
        self.frameRate = frameRate
        self.frameBurst = frameBurst
        self.sendQueueBytes = sendQueueBytes
        self.slowPeerTimeout = slowPeerTimeout
        self.redialInitial = redialInitial
        self.redialMax = redialMax
    }
}
