/// Why a mesh connection ended or was refused. `reason` is the label used in logs and in
/// the counters of `plexus status` and `/v1/status`.
public enum MeshError: Error, Sendable, Equatable, CustomStringConvertible {
    case handshakeTimeout
    case closedDuringHandshake
    case decryptionFailed
    case notConnected
    /// The peer announced a frame longer than the limit.
    case frameTooLarge(Int)
    case malformedFrame
    /// The peer sent frames faster than its allowance.
    case rateLimited
    /// Nothing arrived within the idle timeout.
    case idleTimeout
    /// Total or per-IP connection cap reached.
    case tooManyConnections
    /// Closed because another connection to the same peer won the simultaneous-dial tie-break.
    case duplicateConnection
    /// The peer could not be reached (refused, unreachable, timed out).
    case dialFailed(String)
    /// The peer's send queue stayed full: it does not read what we send.
    case slowPeer
    /// A ping was not answered in time.
    case pingTimeout
    /// The peer is an agent this node refuses (a blocked contact).
    case refusedPeer

    public var reason: String {
        switch self {
        case .handshakeTimeout: "handshake_timeout"
        case .closedDuringHandshake: "closed_during_handshake"
        case .decryptionFailed: "decryption_failed"
        case .notConnected: "not_connected"
        case .frameTooLarge: "frame_too_large"
        case .malformedFrame: "malformed_frame"
        case .rateLimited: "rate_limited"
        case .idleTimeout: "idle_timeout"
        case .tooManyConnections: "too_many_connections"
        case .duplicateConnection: "duplicate_connection"
        case .dialFailed: "dial_failed"
        case .slowPeer: "slow_peer"
        case .pingTimeout: "ping_timeout"
        case .refusedPeer: "refused_peer"
        }
    }

    public var description: String {
        switch self {
        case .frameTooLarge(let length): "frame of \(length) bytes exceeds the limit"
        case .dialFailed(let why): "dial failed: \(why)"
        default: reason.replacingOccurrences(of: "_", with: " ")
        }
    }
}
