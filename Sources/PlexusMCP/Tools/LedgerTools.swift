import PlexusCore

extension ToolCatalog {
    /// A group's token ledger: `balance`, `ledger`, `transfer`, `mint`.
    static let ledger: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "balance", "An account's balance",
                "An account in a private group's ledger (this agent's unless agent is given): balance, what it may still receive, and its latest postings, newest first.",
                properties: [
                    "group": string("The group's id or name."),
                    "agent": string("The member's agent id (default: this agent)."),
                    "limit": integer("Most postings (1-1000, default 50).", minimum: 1, maximum: 1000),
                ],
                required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.account(
                    group: try arguments.requiredString("group"), agent: try arguments.agentID("agent"), limit: try arguments.int("limit")))
            }),
        PlexusTool(
            definition: tool(
                "ledger", "A group's ledger",
                "A private group's token policy, minted total, tokens in flight and every account's balance, largest first; ledger entries that do not count, with the reason.",
                properties: ["group": string("The group's id or name.")], required: ["group"], readOnly: true),
            run: { arguments, node throws(PlexusError) in try encode(try await node.ledger(group: try arguments.requiredString("group"))) }),
        PlexusTool(
            definition: tool(
                "transfer", "Send tokens to a member",
                "Sends tokens from this agent's account to another member of the group; the policy's fee goes to the treasury. The recipient's node takes them in by itself.",
                properties: [
                    "group": string("The group's id or name."),
                    "to": string("The member's agent id."),
                    "amount": integer("Whole tokens to send (at least 1).", minimum: 1),
                    "memo": string("A note for the recipient (at most 256 bytes)."),
                    "for": string("The id of the entry the transfer pays for."),
                ],
                required: ["group", "to", "amount"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let to = try arguments.agentID("to") else { throw PlexusError(.invalidArgument, "missing argument 'to'") }
                guard let amount = try arguments.int("amount") else { throw PlexusError(.invalidArgument, "missing argument 'amount'") }
                return try encode(try await node.transfer(
                    group: try arguments.requiredString("group"),
                    TransferRequest(to: to, amount: Int64(amount), memo: try arguments.string("memo"), regarding: try arguments.entryID("for"))))
            }),
        PlexusTool(
            definition: tool(
                "mint", "Mint tokens (treasury only)",
                "Creates tokens within the policy's supply cap, in the treasury's own account or sent on to a member. Only the group's treasury may.",
                properties: [
                    "group": string("The group's id or name."),
                    "amount": integer("Whole tokens to mint (at least 1).", minimum: 1),
                    "to": string("A member's agent id to send them to (default: they stay with the treasury)."),
                ],
                required: ["group", "amount"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let amount = try arguments.int("amount") else { throw PlexusError(.invalidArgument, "missing argument 'amount'") }
                return try encode(try await node.mint(
                    group: try arguments.requiredString("group"), MintRequest(amount: Int64(amount), to: try arguments.agentID("to"))))
            }),
    ]
}
