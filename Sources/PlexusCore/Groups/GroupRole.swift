/// A member's role in a group, lowest first. Readers read; members also write; managers
/// also add, remove and rekey; owners also appoint managers and owners.
public enum GroupRole: String, Sendable, Codable, CaseIterable, Comparable {
    case reader, member, manager, owner

    private var rank: Int {
        switch self {
        case .reader: 0
        case .member: 1
        case .manager: 2
        case .owner: 3
        }
    }

    public static func < (lhs: GroupRole, rhs: GroupRole) -> Bool { lhs.rank < rhs.rank }
}
