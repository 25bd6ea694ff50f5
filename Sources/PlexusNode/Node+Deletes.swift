import PlexusCore
import PlexusStore

/// Author deletes (PROTOCOL.md §2.6): this agent takes back entries of its own feed by
/// publishing signed delete requests, which every node applies in its ingest pipeline.
extension Node {
    /// Deletes entries of this node's own feed. Each id must be an entry this agent
    /// published and this node holds (`forbidden` for another author's, `notFound` for one
    /// unknown here); one already deleted is skipped. Group entries are retracted within
    /// their group instead, and delete requests themselves stay (they carry the deletion to
    /// nodes that have not heard of it).
    public nonisolated func delete(_ ids: [EntryID]) async throws(PlexusError) -> DeletionView {
        var byTopic: [String: [DeleteRequest.Stub]] = [:]
        var order: [String] = []
        var deleted: [EntryID] = []
        for id in ids {
            guard let stored = try await store.entry(id) else {
                if let tombstone = try await store.tombstone(id), tombstone.author == self.id, tombstone.reason == "deleted" { continue }
                throw PlexusError(.notFound, "no entry \(id.hex) on this node")
            }
            let entry = stored.entry
            guard entry.author == self.id else {
                throw PlexusError(.forbidden, "entry \(id.hex.prefix(16)) was published by \(entry.author.short); only its author can delete it")
            }
            guard !TopicName.replication(of: entry.topic).hasPrefix("group/") else {
                throw PlexusError(.invalidContent, "entry \(id.hex.prefix(16)) is a group entry: retract it in its group (plexus group retract)")
            }
            guard entry.type != DeleteRequest.type else {
                throw PlexusError(.invalidContent, "entry \(id.hex.prefix(16)) is a delete request; those stay so the deletion reaches every node")
            }
            if byTopic[entry.topic] == nil { order.append(entry.topic) }
            byTopic[entry.topic, default: []].append(DeleteRequest.Stub(id: id, seq: entry.seq, prev: entry.prev))
            deleted.append(id)
        }
        var requests: [EntryID] = []
        for topic in order {
            let stubs = byTopic[topic] ?? []
            for start in stride(from: 0, to: stubs.count, by: DeleteRequest.maxEntries) {
                let part = Array(stubs[start..<min(start + DeleteRequest.maxEntries, stubs.count)])
                requests.append(try await publish(DeleteRequest(topic: topic, stubs: part).draft).entry.id)
            }
        }
        if !deleted.isEmpty {
            logger.info("entries deleted", metadata: ["count": "\(deleted.count)", "requests": "\(requests.count)"])
        }
        return DeletionView(deleted: deleted, requests: requests)
    }
}
