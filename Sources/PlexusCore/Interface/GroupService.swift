import Foundation

/// Private groups (DESIGN §9, PROTOCOL.md §13): a roster kept by signed control entries
/// and entries sealed to the members. `group` arguments take a group id (64 hex digits)
/// or the name of one group this node is in.
public protocol GroupService: Sendable {
    /// The groups this node is in (or was, until it forgets them).
    func groups() async throws(PlexusError) -> [GroupView]
    func group(_ group: String) async throws(PlexusError) -> GroupView
    /// Creates a group with this agent as its owner.
    func createGroup(_ request: GroupCreateRequest) async throws(PlexusError) -> GroupView
    /// Adds an agent (a manager's act; an owner's for managers and owners).
    func addMember(group: String, _ request: GroupMemberRequest) async throws(PlexusError) -> GroupView
    /// Removes an agent and rekeys the group so it reads nothing written after.
    func removeMember(group: String, agent: AgentID) async throws(PlexusError) -> GroupView
    func setRole(group: String, agent: AgentID, role: GroupRole) async throws(PlexusError) -> GroupView
    /// Starts a new epoch sealed to the current members.
    func rekey(group: String) async throws(PlexusError) -> GroupView
    /// Leaves the group (a removal of oneself).
    func leave(group: String) async throws(PlexusError) -> GroupView
    /// Seals and publishes an entry into the group (`supersedes` replaces earlier entries
    /// of this agent there).
    func publish(group: String, _ request: PublishRequest) async throws(PlexusError) -> EntryView
}

/// The body of `POST /v1/groups`.
public struct GroupCreateRequest: Codable, Sendable, Equatable {
    public var name: String
    /// The group's token policy (PROTOCOL.md §14.1); without one the group has no ledger
    /// until its owner sets one.
    public var policy: PolicyRequest?

    public init(name: String, policy: PolicyRequest? = nil) {
        self.name = name
        self.policy = policy
    }

    /// Longest group name, in UTF-8 bytes.
    public static let maxNameBytes = 128

    public func validated() throws(PlexusError) -> GroupCreateRequest {
        guard !name.isEmpty else { throw PlexusError(.invalidArgument, "a group name is not empty") }
        guard name.utf8.count <= Self.maxNameBytes else {
            throw PlexusError(.tooLarge, "a group name is at most \(Self.maxNameBytes) bytes of UTF-8")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw PlexusError(.invalidArgument, "a group name has no control characters")
        }
        return GroupCreateRequest(name: name, policy: try policy?.validated())
    }
}

/// The body of `POST /v1/groups/{group}/members`.
public struct GroupMemberRequest: Codable, Sendable, Equatable {
    public var agent: AgentID
    /// Default `member`.
    public var role: GroupRole?

    public init(agent: AgentID, role: GroupRole? = nil) {
        self.agent = agent
        self.role = role
    }
}

/// A group as this node sees it.
public struct GroupView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var name: String
    /// The group's private topic.
    public var topic: String
    /// This agent's role; nil once it left or was removed.
    public var role: GroupRole?
    public var members: [GroupMemberView]
    /// The epoch new entries are sealed under; nil until this node holds its key.
    public var epoch: EntryID?
    /// A manager should start a new epoch (a member lacks the current key, or none may be used).
    public var needsRekey: Bool
    /// Entries of the group this node opened.
    public var entries: Int
    /// Control entries waiting for ones they build on, and control entries that do not count.
    public var pendingControls: Int
    public var voidControls: [VoidControlView]

    public init(
        id: EntryID, name: String, topic: String, role: GroupRole?, members: [GroupMemberView], epoch: EntryID?,
        needsRekey: Bool, entries: Int, pendingControls: Int, voidControls: [VoidControlView]
    ) {
        self.id = id
        self.name = name
        self.topic = topic
        self.role = role
        self.members = members
        self.epoch = epoch
        self.needsRekey = needsRekey
        self.entries = entries
        self.pendingControls = pendingControls
        self.voidControls = voidControls
    }

    enum CodingKeys: String, CodingKey {
        case id, name, topic, role, members, epoch, entries
        case needsRekey = "needs_rekey", pendingControls = "pending_controls", voidControls = "void_controls"
    }
}

/// A member and its role.
public struct GroupMemberView: Codable, Sendable, Equatable {
    public var agent: AgentID
    public var role: GroupRole

    public init(agent: AgentID, role: GroupRole) {
        self.agent = agent
        self.role = role
    }
}

/// A control entry that does not count, and why (`notPermitted`, `revokedConcurrently`,
/// `malformed`).
public struct VoidControlView: Codable, Sendable, Equatable {
    public var id: EntryID
    public var reason: String

    public init(id: EntryID, reason: String) {
        self.id = id
        self.reason = reason
    }
}

/// The body of `PUT /v1/groups/{group}/members/{agent}/role`.
public struct GroupRoleRequest: Codable, Sendable, Equatable {
    public var role: GroupRole

    public init(role: GroupRole) {
        self.role = role
    }
}
