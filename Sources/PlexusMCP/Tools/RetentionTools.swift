import Foundation
import PlexusCore

extension ToolCatalog {
    /// What the node keeps: `retention_list`, `retention_add`, `retention_remove`, `retention_run`.
    static let retention: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "retention_list", "List retention policies",
                "The retention policies in force on this node (config.yaml's, then those added at run time) and the sweep interval.",
                properties: [:], required: [], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.retentionPolicies()) }),
        PlexusTool(
            definition: tool(
                "retention_add", "Add a retention policy",
                "Bounds what this node keeps of a topic, an author or every topic: entries older than max_age_s (by receive time), more than max_count per topic, or all but the newest per value of compact_key. Removed entries are never fetched again.",
                properties: [
                    "topic": string("Only this topic."),
                    "author": string("Only this author's entries (an agent id)."),
                    "max_age_s": integer("Remove entries received longer ago than this many seconds.", minimum: 1),
                    "max_count": integer("Keep at most this many entries per topic (the newest).", minimum: 1),
                    "compact_key": string("A JSON path ($.key): keep only the newest entry per value there."),
                ],
                required: [], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.addRetentionPolicy(RetentionPolicyRequest(
                    topic: try arguments.string("topic"), author: try arguments.agentID("author"),
                    maxAgeS: try arguments.int("max_age_s").map(Int64.init), maxCount: try arguments.int("max_count").map(Int64.init),
                    compactKey: try arguments.string("compact_key"))))
            }),
        PlexusTool(
            definition: tool(
                "retention_remove", "Delete a retention policy",
                "Deletes a policy added at run time (p1, p2, …); those in config.yaml are changed there.",
                properties: ["id": string("The policy's id.")], required: ["id"], readOnly: false),
            run: { arguments, node throws(PlexusError) in try encode(try await node.removeRetentionPolicy(try arguments.requiredString("id"))) }),
        PlexusTool(
            definition: tool(
                "retention_run", "Run the retention sweep now",
                "Applies every retention policy at once and reports what each removed.",
                properties: [:], required: [], readOnly: false),
            run: { _, node throws(PlexusError) in try encode(try await node.runRetention()) }),
    ]
}
