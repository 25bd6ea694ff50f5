import Foundation
import PlexusCore

extension ToolCatalog {
    /// Contacts and trust: `contact_list`, `contact_add`, `contact_remove`.
    static let contacts: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "contact_list", "List contacts",
                "The agents this node's operator named, with their trust: blocked (entries, tasks and connections refused), known or trusted.",
                properties: [:], required: [], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.contacts()) }),
        PlexusTool(
            definition: tool(
                "contact_add", "Add or change a contact",
                "Names an agent and sets how far it is trusted. A blocked agent's entries, tasks and connections are refused from then on.",
                properties: [
                    "agent": string("The agent id."),
                    "name": string("A name for it (1-64 characters)."),
                    "trust": ["type": "string", "enum": ["blocked", "known", "trusted"], "description": "How far it is trusted (default known)."],
                ],
                required: ["agent"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let agent = try arguments.agentID("agent") else { throw PlexusError(.invalidArgument, "missing argument 'agent'") }
                let trust = try arguments.string("trust").map { text throws(PlexusError) -> Trust in
                    guard let trust = Trust(rawValue: text) else { throw PlexusError(.invalidArgument, "trust is blocked, known or trusted") }
                    return trust
                }
                return try encode(try await node.addContact(ContactRequest(agent: agent, name: try arguments.string("name"), trust: trust)))
            }),
        PlexusTool(
            definition: tool(
                "contact_remove", "Remove a contact",
                "Forgets a contact: the agent is unknown again (a blocked one is no longer refused).",
                properties: ["agent": string("The agent id.")], required: ["agent"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                guard let agent = try arguments.agentID("agent") else { throw PlexusError(.invalidArgument, "missing argument 'agent'") }
                return try encode(try await node.removeContact(agent))
            }),
    ]
}
