import Foundation
import PlexusCore
import PlexusProtocol

/// Signed soft state on the mesh (DESIGN §1, §7, PROTOCOL.md §9): agent records travel in
/// `records` messages of the `mesh` topic, each passed on to the other mesh neighbours the
/// first time a node sees it (newest per author and kind wins), and a new mesh neighbour is
/// sent every record held at once, so a node that joins late has the directory after one
/// exchange. Records take no seq and never enter the store: no feed, search, event stream,
/// hook or webhook sees them. Follows restrict which records are kept, never which are
/// passed on.
extension GossipEngine {
    /// Records per `records` message.
    static let maxRecordsPerMessage = 256
    /// Ids of records passed on without being kept (authors not followed), remembered so
    /// each is passed on once.
    static let maxPassedOn = 4096

    /// Keeps this node's own record and sends it to every mesh neighbour.
    func publishRecord(_ record: SignedRecord) async {
        _ = records.insert(record, nowMs: wallClock())
        await spreadRecords([record], except: nil)
    }

    /// The unexpired records of a kind held here, newest first.
    func records(of kind: SignedRecord.Kind) -> [SignedRecord] {
        records.records(of: kind, nowMs: wallClock())
    }

    /// The current record of one author, if held.
    func record(of author: AgentID, kind: SignedRecord.Kind) -> SignedRecord? {
        records.record(SignedRecord.Slot(author: author, kind: kind, scope: ""), nowMs: wallClock())
    }

    func receiveRecords(_ list: Plexus_SoftRecordList, from peer: AgentID) async {
        guard list.records.count <= Self.maxRecordsPerMessage else {
            await misbehaved(peer, "sent more than \(Self.maxRecordsPerMessage) records at once")
            return
        }
        let now = wallClock()
        var fresh: [SignedRecord] = []
        var invalid = 0
        for encoded in list.records {
            guard let record = try? SignedRecord(wire: encoded), record.timeMs <= now + SignedRecord.maxClockSkewMs else {
                invalid += 1
                continue
            }
            if stores(record.author) {
                if records.insert(record, nowMs: now).isNew { fresh.append(record) }
            } else if record.expiresMs > now, !passedOn.contains(record.id) {
                if passedOn.count >= Self.maxPassedOn { passedOn.removeAll(keepingCapacity: true) }
                passedOn.insert(record.id)
                fresh.append(record)
            }
        }
        if invalid > 0 { await misbehaved(peer, "sent \(invalid) invalid or future-dated records") }
        await spreadRecords(fresh, except: peer)
    }

    /// Sends records to every mesh neighbour but `sender`.
    private func spreadRecords(_ list: [SignedRecord], except sender: AgentID?) async {
        guard !list.isEmpty, let neighbors = topics[TopicName.mesh]?.membership.active else { return }
        for peer in neighbors where peer != sender {
            await sendRecords(list, to: peer)
        }
    }

    /// A new mesh neighbour gets every record held.
    func sendAllRecords(to peer: AgentID) async {
        await sendRecords(records.all(nowMs: wallClock()), to: peer)
    }

    private func sendRecords(_ list: [SignedRecord], to peer: AgentID) async {
        for start in stride(from: 0, to: list.count, by: Self.maxRecordsPerMessage) {
            let page = list[start..<min(start + Self.maxRecordsPerMessage, list.count)]
            await send(Self.gossip(TopicName.mesh) { $0.records = .with { $0.records = page.map(\.wire) } }, to: peer)
        }
    }

    /// Drops expired records (they are never served, this frees their memory).
    func expireRecords() {
        records.expire(nowMs: wallClock())
    }
}
