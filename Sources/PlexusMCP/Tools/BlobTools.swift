import Foundation
import PlexusCore

extension ToolCatalog {
    /// Most bytes a tool call puts or reads inline (larger blobs go over HTTP or the CLI).
    static let inlineBlobBytes = 1 << 20

    /// Blobs: `blob_list`, `blob_put`, `blob_get`, `blob_pin`.
    static let blobs: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "blob_list", "List blobs",
                "The blobs (content-addressed files) held on this node, newest first, with the store's use and quota and any fetch in progress.",
                properties: ["limit": integer("Most blobs (1-1000, default 100).", minimum: 1, maximum: 1000), "offset": integer("Blobs to skip.", minimum: 0)],
                required: [], readOnly: true),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.blobs(limit: try arguments.int("limit"), offset: try arguments.int("offset")))
            }),
        PlexusTool(
            definition: tool(
                "blob_put", "Store a blob",
                "Stores bytes (up to 1 MiB here; larger files over HTTP or plexus blob put) as a blob and returns its id, the SHA-256 of the bytes. Reference it from an entry with {\"blobs\": [{\"id\": \"…\"}]} so peers can fetch it.",
                properties: [
                    "text": string("The content as UTF-8 text."),
                    "content_base64": string("The content as base64 (instead of text)."),
                    "pin": ["type": "boolean", "description": "Keep it whatever references it (default true)."],
                ],
                required: [], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                let data: Data
                switch (try arguments.string("text"), try arguments.string("content_base64")) {
                case (let text?, nil): data = Data(text.utf8)
                case (nil, let base64?):
                    guard let decoded = Data(base64Encoded: base64) else { throw PlexusError(.invalidArgument, "'content_base64' is not base64") }
                    data = decoded
                default: throw PlexusError(.invalidArgument, "give the content as either 'text' or 'content_base64'")
                }
                guard data.count <= inlineBlobBytes else {
                    throw PlexusError(.tooLarge, "\(data.count) bytes is more than a tool call stores (\(inlineBlobBytes)); use plexus blob put or POST /v1/blobs")
                }
                return try encode(try await node.putBlob(data, pin: try arguments.bool("pin") ?? true))
            }),
        PlexusTool(
            definition: tool(
                "blob_get", "Get a blob",
                "Returns a blob's bytes (text when they are UTF-8, else base64; up to 1 MiB), fetching it from peers first when it is not held here: from the agents named in 'from' (e.g. the author of the entry that references it), then every connected peer.",
                properties: [
                    "id": string("The blob id (64 hex)."),
                    "from": ["type": "array", "items": ["type": "string"], "description": "Agent ids to ask first."],
                    "wait_s": integer("Seconds to wait for a fetch (default 60).", minimum: 1, maximum: 3600),
                ],
                required: ["id"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                let id = try BlobID.parse(try arguments.requiredString("id"))
                var hints: [AgentID] = []
                for text in try arguments.strings("from") ?? [] { hints.append(try AgentID.parse(text)) }
                let blob = try await node.fetchBlob(id, BlobFetchRequest(from: hints, waitMs: (try arguments.int("wait_s") ?? 60) * 1000))
                let data = try await node.blobBytes(id, limit: inlineBlobBytes)
                var result: [String: JSONValue] = ["id": .string(id.hex), "size": .integer(Int64(clamping: blob.size))]
                if let text = String(data: data, encoding: .utf8) { result["text"] = .string(text) } else { result["content_base64"] = .string(data.base64EncodedString()) }
                return try encode(JSONValue.object(result))
            }),
        PlexusTool(
            definition: tool(
                "blob_pin", "Pin or unpin a blob",
                "Pinned blobs are kept whatever references them; unpinned ones stay while entries held here reference them or for a grace period after their last use.",
                properties: ["id": string("The blob id."), "pinned": ["type": "boolean", "description": "true to pin (default), false to unpin."]],
                required: ["id"], readOnly: false),
            run: { arguments, node throws(PlexusError) in
                try encode(try await node.pinBlob(try BlobID.parse(try arguments.requiredString("id")), pinned: try arguments.bool("pinned") ?? true))
            }),
    ]
}
