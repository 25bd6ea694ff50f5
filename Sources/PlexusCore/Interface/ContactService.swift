import Foundation

/// Contacts and trust (DESIGN §15): the agents an operator has named, and how far each is
/// trusted. Trust decides what the node accepts: a blocked agent's entries, tasks and
/// connections are refused; `trust:` settings say which levels may send tasks.
public protocol ContactService: Sendable {
    /// Every contact, by name then id.
    func contacts() async throws(PlexusError) -> [ContactView]
    /// Adds a contact or changes one (name, trust).
    func addContact(_ request: ContactRequest) async throws(PlexusError) -> ContactView
    /// Forgets a contact: the agent is unknown again.
    func removeContact(_ agent: AgentID) async throws(PlexusError) -> ContactView
}

/// How far an agent is trusted. An agent that is not a contact is `unknown`, between
/// `blocked` and `known`.
public enum Trust: String, Codable, Sendable, CaseIterable, Comparable {
    case blocked, unknown, known, trusted

    private var rank: Int {
        switch self {
        case .blocked: 0
        case .unknown: 1
        case .known: 2
        case .trusted: 3
        }
    }

    public static func < (lhs: Trust, rhs: Trust) -> Bool { lhs.rank < rhs.rank }

    /// The levels a contact can be given (`unknown` is having no contact).
    public static let contactLevels: [Trust] = [.blocked, .known, .trusted]
}

/// A contact as the API shows it.
public struct ContactView: Codable, Sendable, Equatable {
    public var agent: AgentID
    public var name: String?
    public var trust: Trust
    public var addedMs: Int64
    public var updatedMs: Int64

    public init(agent: AgentID, name: String?, trust: Trust, addedMs: Int64, updatedMs: Int64) {
        self.agent = agent
        self.name = name
        self.trust = trust
        self.addedMs = addedMs
        self.updatedMs = updatedMs
    }

    enum CodingKeys: String, CodingKey {
        case agent, name, trust, addedMs = "added_ms", updatedMs = "updated_ms"
    }
}

/// `POST /v1/contacts`, `plexus contact add`: a contact to add or change.
public struct ContactRequest: Codable, Sendable, Equatable {
    /// The longest name, in characters.
    public static let maxNameLength = 64

    public var agent: AgentID
    /// Kept when nil on a change; a new contact may have none.
    public var name: String?
    /// `known` for a new contact when nil; kept when nil on a change.
    public var trust: Trust?

    public init(agent: AgentID, name: String? = nil, trust: Trust? = nil) {
        self.agent = agent
        self.name = name
        self.trust = trust
    }

    /// The request when its name and trust are acceptable.
    public func validated() throws(PlexusError) -> ContactRequest {
        if let name {
            guard !name.isEmpty, name.count <= Self.maxNameLength, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw PlexusError(.invalidContent, "a contact's name is 1 to \(Self.maxNameLength) characters without control characters")
            }
        }
        if let trust, trust == .unknown {
            throw PlexusError(.invalidContent, "trust is blocked, known or trusted (to make an agent unknown, remove the contact)")
        }
        return self
    }
}

/// Which trust levels may do what (`trust:` in config.yaml).
public struct TrustPolicy: Sendable, Equatable, Codable {
    /// The lowest level whose tasks are taken (`unknown`: anyone not blocked).
    public var tasksFrom: Trust
    /// The lowest level whose direct messages go to the inbox; those of lower levels (but
    /// not blocked) are kept apart as `quarantined`.
    public var messagesFrom: Trust

    public init(tasksFrom: Trust = .unknown, messagesFrom: Trust = .unknown) {
        self.tasksFrom = tasksFrom
        self.messagesFrom = messagesFrom
    }

    enum CodingKeys: String, CodingKey {
        case tasksFrom = "tasks_from", messagesFrom = "messages_from"
    }
}
