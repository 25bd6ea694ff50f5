import Foundation
import PlexusCore

extension ToolCatalog {
    /// The agent directory: `find_agents`.
    static let directory: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "find_agents", "Find agents",
                "Looks up agents in the directory (their signed, self-announced records, spread over the mesh): one agent by id, or every agent offering a capability (skill or tool), acting for a user, or carrying a label. Shows addresses, capabilities, resources and presence (online, busy, stale).",
                properties: [
                    "id": string("An agent id: just that agent."),
                    "capability": string("A skill or tool name, e.g. summarize."),
                    "user": string("The user the agents act for."),
                    "label": string("A label, key or key=value."),
                ],
                readOnly: true),
            run: { arguments, node throws(PlexusError) in
                if let id = try arguments.agentID("id") {
                    return try encode(["agents": [try await node.agent(id)]])
                }
                return try encode(["agents": try await node.agents(AgentQuery(
                    capability: try arguments.string("capability"), user: try arguments.string("user"), label: try arguments.string("label")))])
            }),
    ]
}
