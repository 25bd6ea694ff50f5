import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// A group's token ledger: balances, an account, minting, transfers and the policy.
struct LedgerRoutes: APIRouteCollection {
    let service: LocalNodeService

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/groups/{group}/ledger") { _, context in
            EnvelopeResponse.success(try await service.ledger(group: context.pathParameter("group")))
        }
        router.get("/v1/groups/{group}/ledger/account") { request, context in
            let reader = QueryReader(request)
            return EnvelopeResponse.success(try await service.account(
                group: context.pathParameter("group"), agent: try reader.agentID("agent"), limit: try reader.int("limit")))
        }
        router.post("/v1/groups/{group}/ledger/mint") { request, context in
            let body: MintRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["amount", "to"])
            return EnvelopeResponse.success(try await service.mint(group: context.pathParameter("group"), body), status: .created)
        }
        router.post("/v1/groups/{group}/ledger/transfer") { request, context in
            let body: TransferRequest = try await TaskRoutes.decode(request, limit: 16 * 1024, keys: ["to", "amount", "memo", "for"])
            return EnvelopeResponse.success(try await service.transfer(group: context.pathParameter("group"), body), status: .created)
        }
        router.put("/v1/groups/{group}/policy") { request, context in
            let body: PolicyRequest = try await TaskRoutes.decode(
                request, limit: 16 * 1024,
                keys: ["currency", "supply_cap", "treasury", "faucet", "claim_reward", "claim_reward_daily_limit", "fee_basis_points", "balance_cap"])
            return EnvelopeResponse.success(try await service.setPolicy(group: context.pathParameter("group"), body))
        }
    }
}
