import Foundation
import Hummingbird
import PlexusCore
import PlexusNode

/// The directory: agents with presence, capabilities, resources and verified users; find by
/// capability.
struct PanelAgentPages: PanelPageCollection {
    let routes: PanelRoutes
    var service: LocalNodeService { routes.service }

    func register(on ui: RouterGroup<APIRequestContext>) {
        ui.get("/agents") { request, context in try await agents(request, context) }
        ui.get("/agents/{id}") { _, context in try await agent(try AgentID.parse(context.pathParameter("id")), context) }
    }

    private func agents(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = PanelQuery(request)
        let offset = try query.offset()
        let capability = query.string("capability")
        let agents = try await service.agents(AgentQuery(capability: capability))
        let model = AgentsModel(
            capability: capability ?? "",
            agents: agents.dropFirst(offset).prefix(PanelRoutes.pageSize).map(AgentRow.init),
            pager: Pager(path: "/ui/agents", query: query.values(["capability"]), offset: offset, size: PanelRoutes.pageSize, total: agents.count))
        return routes.render("agents", title: "Agents", section: "/ui/agents", context, model)
    }

    private func agent(_ id: AgentID, _ context: APIRequestContext) async throws -> Response {
        let agent = try await service.agent(id)
        let record = agent.record
        let resources = record.capabilities.resources
        var resourceText: [String] = []
        if let cores = resources.cpuCores { resourceText.append("\(cores) CPU cores") }
        if let ram = resources.ramMB { resourceText.append("\(ram) MB RAM") }
        for device in resources.devices { resourceText.append([device.type, device.model].compactMap { $0 }.joined(separator: " ")) }
        let model = AgentModel(
            row: AgentRow(agent), addresses: record.addresses, tools: record.capabilities.tools,
            labels: record.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            resources: resourceText, relays: (record.relays ?? []).map(\.description), status: record.status,
            announced: Show.time(agent.announcedMs), expires: Show.time(agent.expiresMs), recordID: agent.recordID.description)
        return routes.render("agent", title: "Agent \(Show.short(id))", section: "/ui/agents", context, model)
    }

    struct AgentsModel {
        let capability: String
        let agents: [AgentRow]
        let pager: Pager
    }

    struct AgentRow {
        let id: String
        let shortID: String
        let presence: String
        let skills: [String]
        let user: String?
        let verified: Bool

        init(_ agent: AgentView) {
            id = agent.agentID.description
            shortID = Show.short(agent.agentID)
            presence = agent.presence.rawValue
            skills = agent.record.capabilities.skills
            user = agent.record.user
            verified = agent.verifiedUser != nil
        }
    }

    struct AgentModel {
        let row: AgentRow
        let addresses: [String]
        let tools: [String]
        let labels: [String]
        let resources: [String]
        let relays: [String]
        let status: String
        let announced: String
        let expires: String
        let recordID: String
    }
}
