import Foundation

/// What an agent says about itself: the content of its signed agent record (DESIGN §7,
/// soft state, `SignedRecord` of kind agent), so it is the agent's own word; it expires
/// with the record.
public struct AgentRecord: Codable, Sendable, Equatable {
    /// Mesh addresses (`host:port`) the agent listens on.
    public var addresses: [String]
    public var capabilities: Capabilities
    /// Free-form labels (`region: eu`, `team: search`).
    public var labels: [String: String]
    /// The user the agent acts for, as the agent claims it (see `userCertificate`).
    public var user: String?
    /// The user's signed statement that this agent acts for them.
    public var userCertificate: UserCertificate?
    /// `online` or `busy`, as the agent reports itself.
    public var status: String
    /// Seconds between the agent's announcements: a record older than two is stale.
    public var intervalS: Int
    /// Agents connected to this one that relay tasks to it: how to reach an agent that
    /// accepts no connections (behind NAT, or `listen: off`).
    public var relays: [AgentID]?
    /// The agent's X25519 key, signed by it: what group keys are sealed to (PROTOCOL.md
    /// §13.3). Absent in records of older nodes.
    public var exchangeKey: ExchangeKeyView?

    public init(
        addresses: [String] = [], capabilities: Capabilities = .init(), labels: [String: String] = [:], user: String? = nil,
        status: String = "online", intervalS: Int = 300, relays: [AgentID]? = nil
    ) {
        self.relays = relays
        self.addresses = addresses
        self.capabilities = capabilities
        self.labels = labels
        self.user = user
        self.status = status
        self.intervalS = intervalS
    }

    enum CodingKeys: String, CodingKey {
        case addresses, capabilities, labels, user, status, relays, intervalS = "interval_s"
        case userCertificate = "user_certificate", exchangeKey = "exchange_key"
    }

    /// Whether the agent offers `name` as a skill or a tool (case-insensitive).
    public func offers(_ name: String) -> Bool {
        let wanted = name.lowercased()
        return (capabilities.skills + capabilities.tools).contains { $0.lowercased() == wanted }
    }
}

/// An agent's X25519 public key and its Ed25519 signature over
/// `plexus/x25519/v1` ‖ key, in base64 (PROTOCOL.md §13.3).
public struct ExchangeKeyView: Codable, Sendable, Equatable {
    public var publicKey: Data
    public var signature: Data

    public init(publicKey: Data, signature: Data) {
        self.publicKey = publicKey
        self.signature = signature
    }

    public init(_ binding: ExchangeKeyBinding) {
        self.init(publicKey: binding.publicKey, signature: binding.signature)
    }

    /// The binding this view states for `agent` (check it with `verifiedKey()`).
    public func binding(of agent: AgentID) -> ExchangeKeyBinding {
        ExchangeKeyBinding(agent: agent, publicKey: publicKey, signature: signature)
    }

    enum CodingKeys: String, CodingKey {
        case publicKey = "public_key", signature
    }
}

/// What an agent can do and has.
public struct Capabilities: Codable, Sendable, Equatable {
    /// Kinds of work it takes (`summarize`, `translate`, `echo`).
    public var skills: [String]
    /// Tools it can call on behalf of others.
    public var tools: [String]
    public var resources: Resources

    public init(skills: [String] = [], tools: [String] = [], resources: Resources = .init()) {
        self.skills = skills
        self.tools = tools
        self.resources = resources
    }
}

/// The machine behind an agent.
public struct Resources: Codable, Sendable, Equatable {
    public var cpuCores: Int?
    public var ramMB: Int?
    public var devices: [Device]

    public init(cpuCores: Int? = nil, ramMB: Int? = nil, devices: [Device] = []) {
        self.cpuCores = cpuCores
        self.ramMB = ramMB
        self.devices = devices
    }

    enum CodingKeys: String, CodingKey {
        case cpuCores = "cpu_cores", ramMB = "ram_mb", devices
    }
}

/// A device such as a GPU: its type, model and numeric properties (`vram_gb: 24`).
public struct Device: Codable, Sendable, Equatable {
    public var type: String
    public var model: String?
    public var properties: [String: Double]

    public init(type: String, model: String? = nil, properties: [String: Double] = [:]) {
        self.type = type
        self.model = model
        self.properties = properties
    }
}

/// An agent in the directory: its latest unexpired record and what that says of presence.
public struct AgentView: Codable, Sendable, Equatable {
    /// `online` and `busy` as the agent reports; `stale` when its latest record is older
    /// than two announcement intervals (it may be gone).
    public enum Presence: String, Codable, Sendable {
        case online, busy, stale
    }

    public var agentID: AgentID
    public var record: AgentRecord
    public var presence: Presence
    /// The user whose certificate in the record verifies for this agent, if any.
    public var verifiedUser: AgentID?
    /// This node's contact entry for the agent, if it has one.
    public var contact: ContactView?
    /// When the agent signed its latest record, and when that record expires.
    public var announcedMs: Int64
    public var expiresMs: Int64?
    /// The id of the signed record (SHA-256 of its body): changes with every announcement.
    public var recordID: EntryID

    public init(agentID: AgentID, record: AgentRecord, presence: Presence, announcedMs: Int64, expiresMs: Int64?, recordID: EntryID) {
        self.agentID = agentID
        self.record = record
        self.presence = presence
        self.announcedMs = announcedMs
        self.expiresMs = expiresMs
        self.recordID = recordID
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", record, presence, announcedMs = "announced_ms", expiresMs = "expires_ms", recordID = "record_id"
        case verifiedUser = "verified_user", contact
    }
}

/// Which agents to list: all, or those matching every given filter.
public struct AgentQuery: Sendable, Equatable {
    public var capability: String?
    public var user: String?
    public var label: String?

    public init(capability: String? = nil, user: String? = nil, label: String? = nil) {
        self.capability = capability
        self.user = user
        self.label = label
    }
}
