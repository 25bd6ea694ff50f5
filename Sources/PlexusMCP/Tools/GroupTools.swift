import Foundation
import PlexusCore

extension ToolCatalog {
    /// Private groups: `group_list`, `group_show`, `group_create`, `group_add`,
    /// `group_remove`, `group_role`, `group_rekey`, `group_leave`, `group_publish`,
    /// `group_read`.
    static let groups: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "group_list", "List private groups",
                "Lists the private groups this agent is in: id, name, its role, members, the current epoch.",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(["groups": try await node.groups()]) }),
        PlexusTool(
            definition: tool(
                "group_show", "Show a private group",
                "One private group: members and roles, the epoch entries are sealed under, whether a rekey is due, control entries that do not count.",
                properties: ["group": string("The group's id (64 hex) or its name.")], required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in try encode(try await node.group(try arguments.requiredString("group"))) }),
        PlexusTool(
            definition: tool(
                "group_create", "Create a private group",
                "Creates a private group owned by this agent: a private topic whose entries only members receive and can read (sealed end to end). With currency and supply_cap it has a token ledger whose treasury is this agent.",
                properties: [
                    "name": string("The group's name (1-128 bytes)."),
                    "currency": string("The ledger's currency name (1-16 bytes)."),
                    "supply_cap": integer("Most tokens the treasury may ever mint.", minimum: 0),
                    "faucet": integer("Tokens the treasury pays each member added.", minimum: 0),
                    "claim_reward": integer("Tokens the treasury pays per claim a member publishes.", minimum: 0),
                    "claim_reward_daily_limit": integer("Most claim rewards per member and UTC day, in tokens.", minimum: 0),
                    "fee_basis_points": integer("A transfer's fee in 1/100 % of its amount, paid to the treasury.", minimum: 0, maximum: 10_000),
                    "balance_cap": integer("Most tokens an account other than the treasury holds (0: none).", minimum: 0),
                ],
                required: ["name"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                var policy: PolicyRequest?
                if let currency = try arguments.string("currency") {
                    guard let cap = try arguments.int("supply_cap") else { throw PlexusError(.invalidArgument, "a ledger needs supply_cap with currency") }
                    policy = PolicyRequest(
                        currency: currency, supplyCap: Int64(cap), faucet: try arguments.int("faucet").map(Int64.init),
                        claimReward: try arguments.int("claim_reward").map(Int64.init),
                        claimRewardDailyLimit: try arguments.int("claim_reward_daily_limit").map(Int64.init),
                        feeBasisPoints: try arguments.int("fee_basis_points").map(Int64.init), balanceCap: try arguments.int("balance_cap").map(Int64.init))
                }
                return try encode(try await node.createGroup(GroupCreateRequest(name: try arguments.requiredString("name"), policy: policy)))
            }),
        PlexusTool(
            definition: tool(
                "group_add", "Add a group member",
                "Adds an agent to a private group (needs the manager role; owner to add managers or owners). The agent is sent the group's keys and a welcome; it reads the group's history.",
                properties: [
                    "group": string("The group's id or name."),
                    "agent": string("The agent id to add."),
                    "role": ["type": "string", "enum": ["reader", "member", "manager", "owner"], "description": "Its role (default member; readers read only)."],
                ],
                required: ["group", "agent"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let agent = try arguments.agentID("agent") else { throw PlexusError(.invalidArgument, "missing argument 'agent'") }
                let role = try arguments.string("role").map { text throws(PlexusError) in
                    guard let role = GroupRole(rawValue: text) else { throw PlexusError(.invalidArgument, "role is reader, member, manager or owner") }
                    return role
                }
                return try encode(try await node.addMember(group: try arguments.requiredString("group"), GroupMemberRequest(agent: agent, role: role)))
            }),
        PlexusTool(
            definition: tool(
                "group_remove", "Remove a group member",
                "Removes an agent from a private group: its later entries are refused by every member and the group is rekeyed, so it reads nothing written after.",
                properties: ["group": string("The group's id or name."), "agent": string("The agent id to remove.")],
                required: ["group", "agent"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let agent = try arguments.agentID("agent") else { throw PlexusError(.invalidArgument, "missing argument 'agent'") }
                return try encode(try await node.removeMember(group: try arguments.requiredString("group"), agent: agent))
            }),
        PlexusTool(
            definition: tool(
                "group_role", "Change a member's role",
                "Sets a member's role in a private group: reader, member, manager or owner.",
                properties: [
                    "group": string("The group's id or name."),
                    "agent": string("The member's agent id."),
                    "role": ["type": "string", "enum": ["reader", "member", "manager", "owner"], "description": "The new role."],
                ],
                required: ["group", "agent", "role"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let agent = try arguments.agentID("agent") else { throw PlexusError(.invalidArgument, "missing argument 'agent'") }
                guard let role = GroupRole(rawValue: try arguments.requiredString("role")) else {
                    throw PlexusError(.invalidArgument, "role is reader, member, manager or owner")
                }
                return try encode(try await node.setRole(group: try arguments.requiredString("group"), agent: agent, role: role))
            }),
        PlexusTool(
            definition: tool(
                "group_rekey", "Rekey a group", "Starts a new epoch of a private group, sealed to its current members (managers).",
                properties: ["group": string("The group's id or name.")], required: ["group"], readOnly: false),
            run: { arguments, node throws(PlexusError) in try encode(try await node.rekey(group: try arguments.requiredString("group"))) }),
        PlexusTool(
            definition: tool(
                "group_leave", "Leave a group", "Leaves a private group.",
                properties: ["group": string("The group's id or name.")], required: ["group"], readOnly: false),
            run: { arguments, node throws(PlexusError) in try encode(try await node.leave(group: try arguments.requiredString("group"))) }),
        PlexusTool(
            definition: tool(
                "group_publish", "Publish into a group",
                "Seals an entry into a private group: only its members can read the type, tags, refs and content. Same fields as publish, without topic.",
                properties: [
                    "group": string("The group's id or name."),
                    "content": ["type": "object", "description": "The entry's content: any JSON object, e.g. {\"text\": \"the finding\"}."],
                    "type": string("Kind of entry, e.g. claim, question, answer (default insight)."),
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Labels to filter by later."],
                    "refs": ["type": "array", "items": ["type": "string"], "description": "Ids (64 hex) of entries this one answers or cites; the first is its thread parent."],
                    "supersedes": ["type": "array", "items": ["type": "string"], "description": "Ids of this agent's earlier entries in the group that this one replaces."],
                    "ttl_s": integer("Seconds until the entry expires and is removed everywhere.", minimum: 1),
                ],
                required: ["group", "content"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                var fields = arguments.fields
                let group = try arguments.requiredString("group")
                fields.removeValue(forKey: "group")
                return try encode(try await node.publish(group: group, try PublishRequest(json: .object(fields))))
            }),
        PlexusTool(
            definition: tool(
                "group_read", "Read a group",
                "Lists a private group's entries this agent can open, newest first, filtered by author, type, tag or referenced entry; with 'since' (a cursor) what arrived after it, and 'wait_ms' waits for new ones.",
                properties: [
                    "group": string("The group's id or name."),
                    "author": string("Only entries by this agent id."),
                    "type": string("Only entries of this type."),
                    "tag": string("Only entries with this tag."),
                    "ref": string("Only entries that reference this entry id."),
                    "since": integer("Entries stored after this cursor, oldest first.", minimum: 0),
                    "before": integer("Entries stored before this cursor, newest first.", minimum: 0),
                    "limit": integer("Most entries to return (1-\(PageLimit.range.upperBound), default 50).", minimum: 1, maximum: PageLimit.range.upperBound),
                    "wait_ms": integer("With 'since': wait up to this long for new entries (0-\(WaitTime.maxMs)).", minimum: 0, maximum: WaitTime.maxMs),
                    "since_ms": integer("Only entries signed at or after this time (ms since the epoch).", minimum: 0),
                    "include_hidden": boolean("Also retracted, superseded and expired entries (default false)."),
                ],
                required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                let feed = FeedRequest(
                    author: try arguments.agentID("author"), type: try arguments.string("type"), tag: try arguments.string("tag"),
                    ref: try arguments.entryID("ref"), since: try arguments.cursor("since"), before: try arguments.cursor("before"),
                    limit: try arguments.int("limit"), waitMs: try arguments.int("wait_ms"))
                return try encode(try await node.groupFeed(
                    group: try arguments.requiredString("group"),
                    GroupFeedRequest(feed, sinceMs: try arguments.timeMs("since_ms"), includeHidden: try arguments.bool("include_hidden") ?? false)))
            }),
    ]
}
