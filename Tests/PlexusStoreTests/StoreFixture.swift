import Foundation
import Synchronization
import PlexusCore
@testable import PlexusStore

/// A store in a fresh temporary directory with a controllable clock.
final class StoreFixture: Sendable {
    let directory: URL
    let store: EntryStore
    let clock: TestClock

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        clock = TestClock(1_700_000_000_000)
        let clock = self.clock
        store = try EntryStore(path: directory.appendingPathComponent("plexus.db").path, clock: { clock.now })
    }

    func reopen() throws -> EntryStore {
        let clock = self.clock
        return try EntryStore(path: store.path, clock: { clock.now })
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let value: Mutex<Int64>

    init(_ start: Int64) { value = Mutex(start) }

    var now: Int64 { value.withLock { $0 } }

    func advance(byMs delta: Int64) { value.withLock { $0 += delta } }
}

/// An author that signs entries on demand, in or out of order, including conflicting ones.
struct TestAuthor {
    let key = AgentKey()
    var id: AgentID { key.id }

    func entry(
        seq: UInt64, prev: EntryID?, text: String = "note", type: String = "insight", topic: String = "",
        tags: [String] = [], refs: [EntryID] = [], expiresMs: UInt64? = nil
    ) throws -> SignedEntry {
        let draft = EntryDraft(
            type: type, topic: topic, tags: tags, refs: refs, content: .object(["text": .string(text)]), expiresMs: expiresMs)
        return try SignedEntry(signing: try draft.body(seq: seq, prev: prev, timeMs: 1_700_000_000_000 + Int64(seq % 1_000_000_000)), with: key)
    }

    /// A chain of `count` linked entries starting at seq 1.
    func chain(_ count: Int, text: (Int) -> String = { "entry \($0)" }) throws -> [SignedEntry] {
        var entries: [SignedEntry] = []
        for index in 1...count {
            entries.append(try entry(seq: UInt64(index), prev: entries.last?.id, text: text(index)))
        }
        return entries
    }
}
