import Foundation
import PlexusCore

/// A group's token ledger over HTTP (`LedgerService`).
extension NodeClient {
    public func ledger(group: String) async throws(PlexusError) -> LedgerView {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/ledger")
    }

    public func account(group: String, agent: AgentID?, limit: Int?) async throws(PlexusError) -> AccountView {
        try await send(.GET, "/v1/groups/\(Self.pathSegment(group))/ledger/account", query: [
            "agent": agent?.description, "limit": limit.map(String.init),
        ])
    }

    public func mint(group: String, _ request: MintRequest) async throws(PlexusError) -> PostingView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/ledger/mint", body: request)
    }

    public func transfer(group: String, _ request: TransferRequest) async throws(PlexusError) -> PostingView {
        try await send(.POST, "/v1/groups/\(Self.pathSegment(group))/ledger/transfer", body: request)
    }

    public func setPolicy(group: String, _ request: PolicyRequest) async throws(PlexusError) -> LedgerView {
        try await send(.PUT, "/v1/groups/\(Self.pathSegment(group))/policy", body: request)
    }
}
