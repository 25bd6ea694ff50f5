import PlexusCore

/// A group's token ledger (`LedgerService`) of `LocalNodeService`.
extension LocalNodeService {
    public func ledger(group: String) async throws(PlexusError) -> LedgerView {
        await node.groups.load()
        return try await node.groups.ledger(group)
    }

    public func account(group: String, agent: AgentID?, limit: Int?) async throws(PlexusError) -> AccountView {
        await node.groups.load()
        return try await node.groups.account(group, agent: agent, limit: limit)
    }

    public func mint(group: String, _ request: MintRequest) async throws(PlexusError) -> PostingView {
        await node.groups.load()
        return try await node.groups.mint(group, request)
    }

    public func transfer(group: String, _ request: TransferRequest) async throws(PlexusError) -> PostingView {
        await node.groups.load()
        return try await node.groups.transfer(group, request)
    }

    public func setPolicy(group: String, _ request: PolicyRequest) async throws(PlexusError) -> LedgerView {
        await node.groups.load()
        return try await node.groups.setPolicy(group, request)
    }
}
