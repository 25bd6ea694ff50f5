/// What `GET /v1/identity` and `plexus pubkey` report: the agent id and its public key.
public struct IdentityView: Codable, Sendable, Equatable {
    public var agentID: AgentID
    public var publicKeyHex: String
    public var publicKeyBase32: String
    public var keysEncrypted: Bool

    public init(agentID: AgentID, keysEncrypted: Bool) {
        self.agentID = agentID
        self.publicKeyHex = agentID.hex
        self.publicKeyBase32 = agentID.base32
        self.keysEncrypted = keysEncrypted
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", publicKeyHex = "public_key_hex", publicKeyBase32 = "public_key_base32"
        case keysEncrypted = "keys_encrypted"
    }
}
