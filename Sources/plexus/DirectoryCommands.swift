import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// Filters of the agent directory.
struct AgentFilters: ParsableArguments {
    @Option(name: .long, help: "Only agents offering this skill or tool.")
    var capability: String?

    @Option(name: .long, help: "Only agents acting for this user.")
    var user: String?

    @Option(name: .long, help: "Only agents with this label (key or key=value).")
    var label: String?

    var query: AgentQuery { AgentQuery(capability: capability, user: user, label: label) }
}

struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "List the agents in the directory: id, presence, capabilities, addresses.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filters: AgentFilters

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let agents = try await global.client().agents(filters.query)
            if global.json {
                Output.printJSON(agents)
                return
            }
            if agents.isEmpty { print("(no agents)") }
            for agent in agents { print(AgentsCommand.describe(agent)) }
        }
    }

    static func describe(_ agent: AgentView) -> String {
        let record = agent.record
        let offers = record.capabilities.skills + record.capabilities.tools
        var line = "\(agent.agentID)  \(agent.presence.rawValue)"
        if let contact = agent.contact { line += "  [\(contact.name.map { "\($0), " } ?? "")\(contact.trust.rawValue)]" }
        if !offers.isEmpty { line += "  offers \(offers.joined(separator: ", "))" }
        if let user = record.user { line += "  user \(user)" }
        if !record.addresses.isEmpty { line += "  at \(record.addresses.joined(separator: ", "))" }
        let ageS = max(0, (Int64(Date().timeIntervalSince1970 * 1000) - agent.announcedMs) / 1000)
        return line + "  (announced \(ageS) s ago)"
    }
}

struct FindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find", abstract: "Find an agent by id, or agents by --capability, --user or --label.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filters: AgentFilters

    @Argument(help: "An agent id.")
    var id: String?

    func validate() throws {
        guard (id != nil) != (filters.capability != nil || filters.user != nil || filters.label != nil) else {
            throw ValidationError("give an agent id, or --capability, --user or --label")
        }
    }

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            let agents: [AgentView]
            if let id {
                agents = [try await client.agent(try AgentID.parse(id))]
            } else {
                agents = try await client.agents(filters.query)
            }
            if global.json {
                Output.printJSON(agents)
                return
            }
            if agents.isEmpty {
                throw PlexusError(.notFound, "no agent in the directory matches")
            }
            for agent in agents { print(AgentsCommand.describe(agent)) }
        }
    }
}
