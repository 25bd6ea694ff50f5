import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// Private groups this node is in: roster and roles, epoch, claims and threads (opened
/// here), the task board, presence, balances and market offers.
struct PanelGroupPages: PanelPageCollection {
    let routes: PanelRoutes
    var service: LocalNodeService { routes.service }

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/groups") { request, context in
            let offset = try PanelQuery(request).offset()
            let groups = try await service.groups()
            let model = GroupsModel(
                groups: groups.dropFirst(offset).prefix(PanelRoutes.pageSize).map(GroupRow.init),
                pager: Pager(path: "/ui/groups", query: [:], offset: offset, size: PanelRoutes.pageSize, total: groups.count))
            return routes.render("groups", title: "Groups", section: "/ui/groups", context, model)
        }
        ui.get("/groups/{id}") { request, context in try await group(context.pathParameter("id"), request, context) }
    }

    private func group(_ id: String, _ request: Request, _ context: APIRequestContext) async throws -> Response {
        let group = try await service.group(id)
        let query = PanelQuery(request)
        let before = query.string("before").flatMap { Int64($0) }
        let me = try await service.identity().agentID
        let now = PanelRoutes.nowMs()
        let feed = try await service.groupFeed(group: id, GroupFeedRequest(FeedRequest(before: before, limit: PanelRoutes.pageSize)))
        // The views below exist once the group has such entries; a group without them shows none.
        let board = (try? await service.board(group: id))?.tasks ?? []
        let presence = (try? await service.presence(group: id, staleAfterMs: nil)) ?? []
        let ledger = try? await service.ledger(group: id)
        let offers = (try? await service.offers(group: id, OfferListRequest()))?.offers ?? []
        let model = GroupModel(
            row: GroupRow(group), epoch: group.epoch?.description ?? "–", needsRekey: group.needsRekey,
            pendingControls: "\(group.pendingControls)", refused: group.voidControls.count,
            members: group.members.map { Member(agent: $0.agent.description, shortAgent: Show.short($0.agent), role: $0.role.rawValue) },
            entries: feed.entries.map { EntryRow($0, me: me) },
            pager: Pager(path: "/ui/groups/\(id)", query: [:], before: feed.hasMore ? feed.nextCursor : nil, newest: before == nil, shown: feed.entries.count),
            board: board.map {
                BoardRow(title: $0.title, state: $0.state, assignee: $0.assignee.map(Show.short) ?? "–", reward: $0.reward.map { "\($0)" } ?? "–",
                         updated: Show.time($0.updatedMs))
            },
            presence: presence.map {
                PresenceRow(agent: Show.short($0.agent), status: $0.status.rawValue, text: $0.text ?? "", stale: $0.stale,
                            age: Show.duration(ms: now - $0.timeMs))
            },
            minted: ledger.map { "\($0.minted)" }, inFlight: ledger.map { "\($0.inFlight)" },
            accounts: (ledger?.accounts ?? []).map {
                Account(agent: Show.short($0.agent), balance: "\($0.balance)", receivable: "\($0.receivable)", frozen: $0.frozenFrom != nil)
            },
            offers: offers.map {
                OfferRow(title: $0.title, seller: Show.short($0.seller), price: "\($0.price)", size: Show.bytes($0.size), sales: "\($0.sales)",
                         withdrawn: $0.withdrawn)
            })
        return routes.render("group", title: "Group \(group.name)", section: "/ui/groups", context, model)
    }

    struct GroupsModel {
        let groups: [GroupRow]
        let pager: Pager
    }

    struct GroupRow {
        let id: String
        let name: String
        let topic: String
        let role: String
        let members: String
        let entries: String

        init(_ group: GroupView) {
            id = group.id.description
            name = group.name
            topic = group.topic
            role = group.role?.rawValue ?? "not a member"
            members = "\(group.members.count)"
            entries = "\(group.entries)"
        }
    }

    struct Member {
        let agent: String
        let shortAgent: String
        let role: String
    }

    struct BoardRow {
        let title: String
        let state: String
        let assignee: String
        let reward: String
        let updated: String
    }

    struct PresenceRow {
        let agent: String
        let status: String
        let text: String
        let stale: Bool
        let age: String
    }

    struct Account {
        let agent: String
        let balance: String
        let receivable: String
        let frozen: Bool
    }

    struct OfferRow {
        let title: String
        let seller: String
        let price: String
        let size: String
        let sales: String
        let withdrawn: Bool
    }

    struct GroupModel {
        let row: GroupRow
        let epoch: String
        let needsRekey: Bool
        let pendingControls: String
        let refused: Int
        let members: [Member]
        let entries: [EntryRow]
        let pager: Pager
        let board: [BoardRow]
        let presence: [PresenceRow]
        let minted: String?
        let inFlight: String?
        let accounts: [Account]
        let offers: [OfferRow]
    }
}
