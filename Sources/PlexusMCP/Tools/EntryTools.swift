import Foundation
import PlexusCore

extension ToolCatalog {
    /// Entries: `publish`, `publish_batch`, `query`, `search`, `get`, `thread`, `delete`.
    static let entries: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "publish", "Publish an entry",
                "Signs and stores a new entry in this agent's append-only feed and spreads it to the mesh. 'content' is a JSON object (for example {\"text\": \"...\"}); its strings are full-text searchable. Returns the stored entry with its id and cursor.",
                properties: [
                    "content": ["type": "object", "description": "The entry's content: any JSON object, e.g. {\"text\": \"the finding\"}."],
                    "type": string("Kind of entry, e.g. insight, question, answer, decision (default insight)."),
                    "topic": string("Topic to publish in; its subscribers receive it (default: the whole mesh)."),
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Labels to filter by later."],
                    "refs": ["type": "array", "items": ["type": "string"], "description": "Ids (64 hex) of entries this one answers or cites; makes it part of their thread."],
                    "ttl_s": integer("Seconds until the entry expires and is removed everywhere.", minimum: 1),
                    "expires_ms": integer("Absolute expiry time in ms since the epoch (instead of ttl_s).", minimum: 1),
                    "expires_at": string("Absolute expiry as an ISO 8601 / RFC 3339 date-time, e.g. 2026-12-31T23:59:59Z (instead of ttl_s)."),
                ],
                required: ["content"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.publish(try PublishRequest(json: arguments.json)))
            }),
        PlexusTool(
            definition: tool(
                "publish_batch", "Publish several entries at once",
                "Signs and stores up to \(PublishBatchRequest.maxEntries) entries in one go, in the order given, with consecutive seqs: all of them or none (an invalid one is named by its index). Each item has the fields of publish. Much faster than one publish per entry for bulk writes. Returns {\"entries\": [...]}, the stored entries in order.",
                properties: [
                    "entries": [
                        "type": "array", "minItems": 1, "maxItems": .integer(Int64(PublishBatchRequest.maxEntries)),
                        "items": ["type": "object", "required": ["content"], "description": "An entry as publish takes it: content, and optionally type, topic, tags, refs, ttl_s, expires_ms, expires_at."],
                        "description": "The entries to publish, in feed order.",
                    ],
                ],
                required: ["entries"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(["entries": try await node.publish(batch: try PublishBatchRequest(json: arguments.json))])
            }),
        PlexusTool(
            definition: tool(
                "query", "Read the feed",
                "Lists stored entries (from every author this node holds), newest first, filtered by author, topic, type, tag or referenced entry. For entries that arrived after a point, pass 'since' (a cursor from an earlier result); with 'wait_ms' an empty result waits for new entries.",
                properties: [
                    "author": string("Only entries by this agent id."),
                    "topic": string("Only entries in this topic."),
                    "type": string("Only entries of this type."),
                    "tag": string("Only entries with this tag."),
                    "ref": string("Only entries that reference this entry id."),
                    "since": integer("Entries stored after this cursor, oldest first.", minimum: 0),
                    "before": integer("Entries stored before this cursor, newest first (paging back).", minimum: 0),
                    "limit": integer("Most entries to return (1-\(PageLimit.range.upperBound), default 50).", minimum: 1, maximum: PageLimit.range.upperBound),
                    "wait_ms": integer("With 'since': wait up to this long for new entries (0-\(WaitTime.maxMs)).", minimum: 0, maximum: WaitTime.maxMs),
                ],
                readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.feed(FeedRequest(
                    author: try arguments.agentID("author"), topic: try arguments.string("topic"), type: try arguments.string("type"),
                    tag: try arguments.string("tag"), ref: try arguments.entryID("ref"), since: try arguments.cursor("since"),
                    before: try arguments.cursor("before"), limit: try arguments.int("limit"), waitMs: try arguments.int("wait_ms"))))
            }),
        PlexusTool(
            definition: tool(
                "search", "Search entries",
                "Full-text search over every stored entry's text (SQLite FTS5 syntax: words, \"exact phrases\", OR, prefix*), best match first, optionally filtered.",
                properties: [
                    "query": string("What to search for."),
                    "author": string("Only entries by this agent id."),
                    "topic": string("Only entries in this topic."),
                    "type": string("Only entries of this type."),
                    "tag": string("Only entries with this tag."),
                    "limit": integer("Most hits to return (1-200, default 20).", minimum: 1, maximum: 200),
                    "offset": integer("Hits to skip, for paging.", minimum: 0),
                ],
                required: ["query"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.search(SearchRequest(
                    try arguments.requiredString("query"), author: try arguments.agentID("author"), topic: try arguments.string("topic"),
                    type: try arguments.string("type"), tag: try arguments.string("tag"), limit: try arguments.int("limit"),
                    offset: try arguments.int("offset"))))
            }),
        PlexusTool(
            definition: tool(
                "get", "Get an entry", "Returns one stored entry by its id (64 hex characters).",
                properties: ["id": string("The entry id.")], required: ["id"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.entry(try EntryID.parse(try arguments.requiredString("id"))))
            }),
        PlexusTool(
            definition: tool(
                "thread", "Get a thread",
                "Returns an entry and every stored entry that references it, directly or through replies, oldest first: a discussion.",
                properties: ["id": string("The id of the thread's first entry."), "limit": integer("Most entries (default 200).", minimum: 1, maximum: PageLimit.range.upperBound)],
                required: ["id"], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.thread(try EntryID.parse(try arguments.requiredString("id")), limit: try arguments.int("limit")))
            }),
        PlexusTool(
            definition: tool(
                "delete", "Delete own entries",
                "Deletes entries this agent published: signs a delete request that every node honours, dropping the content and keeping only a stub (id, seq, prev) so the feed stays verifiable. Another author's entries cannot be deleted.",
                properties: ["ids": ["type": "array", "items": ["type": "string"], "description": "Ids (64 hex) of this agent's entries."]],
                required: ["ids"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                var ids: [EntryID] = []
                for text in try arguments.strings("ids") ?? [] { ids.append(try EntryID.parse(text)) }
                return try encode(try await node.delete(DeleteEntriesRequest(ids: ids)))
            }),
    ]
}
