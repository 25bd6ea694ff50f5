import PlexusCore

/// Why a Plexus handshake failed (DESIGN §5). The connection is closed on any of them.
public enum HandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The Noise layer failed: wrong network key (prologue), tampering, bad keys.
    case noise(NoiseError)
    /// The payload did not decode or has wrong field sizes.
    case malformedPayload(String)
    /// The payload's signature does not bind the Noise static key to the claimed agent.
    case badIdentitySignature
    /// The dialer pinned an agent id and the peer is someone else.
    case unexpectedPeer(expected: AgentID, actual: AgentID)
    /// The peer claims this node's own identity (a loop, or an impostor).
    case connectedToSelf

    public var description: String {
        switch self {
        case .noise(let error): "noise handshake failed: \(error)"
        case .malformedPayload(let why): "malformed handshake payload: \(why)"
        case .badIdentitySignature: "the peer's identity signature does not verify"
        case .unexpectedPeer(let expected, let actual): "expected peer \(expected.short), got \(actual.short)"
        case .connectedToSelf: "the peer has this node's own identity"
        }
    }
}
