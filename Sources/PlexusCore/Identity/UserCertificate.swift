import Foundation

/// A user's statement that an agent acts for them (DESIGN §7, "optional user certificate"):
/// signed with the user's own Ed25519 key (a Plexus identity of the user's), naming the
/// agent, optionally a display name, and an expiry. An agent carries it in its record;
/// readers check it, so `find --user` can rest on a signature rather than a claim.
public struct UserCertificate: Codable, Sendable, Equatable {
    /// The user's key, as an agent id.
    public var user: AgentID
    /// The agent the user vouches for.
    public var agent: AgentID
    public var name: String?
    public var expiresMs: Int64
    public var signature: Data

    enum CodingKeys: String, CodingKey {
        case user, agent, name, expiresMs = "expires_ms", signature
    }

    /// Signs a certificate for `agent` with the user's key.
    public init(signing agent: AgentID, by userKey: AgentKey, name: String?, expiresMs: Int64) {
        self.user = userKey.id
        self.agent = agent
        self.name = name
        self.expiresMs = expiresMs
        self.signature = Data()
        self.signature = userKey.sign(domain: .userCertificate, signedBytes)
    }

    /// Whether the signature verifies, the certificate names `agent`, and it has not expired.
    public func isValid(for agent: AgentID, nowMs: Int64) -> Bool {
        self.agent == agent && expiresMs > nowMs && user.verify(signature: signature, domain: .userCertificate, signedBytes)
    }

    /// `user ‖ agent ‖ expires_ms (8 bytes big-endian) ‖ name (UTF-8)`.
    var signedBytes: Data {
        var bytes = user.bytes.asData
        bytes.append(agent.bytes.asData)
        withUnsafeBytes(of: UInt64(bitPattern: expiresMs).bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data((name ?? "").utf8))
        return bytes
    }
}
