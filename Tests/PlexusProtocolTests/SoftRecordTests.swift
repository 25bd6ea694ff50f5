import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// Signed soft state (PROTOCOL.md §9): the record format against its test vector and an
/// independent Python derivation, what verification refuses, and the bounded table in
/// which the newest record of each slot wins.
@Suite struct SoftRecordTests {
    struct Vector: Decodable {
        let seed, kind, scope, content, author, body, signature, id, encoded: String
        let time_ms, expires_ms: Int64
    }

    static let vectorURL: URL? = ProtocolVectorTests.directory.appendingPathComponent("soft-record.json")

    static func bytes(_ hex: String) -> Data { Data(Hex.decode(hex) ?? []) }

    @Test func signingReproducesTheVectorAndTheVectorVerifies() throws {
        let vector = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: try #require(Self.vectorURL)))
        let key = try AgentKey(seed: Self.bytes(vector.seed))
        let record = try SignedRecord(
            signing: Data(vector.content.utf8), kind: .agent, scope: vector.scope, timeMs: vector.time_ms,
            expiresMs: vector.expires_ms, with: key)
        #expect(Hex.encode(key.id.bytes) == vector.author)
        #expect(Hex.encode(record.body) == vector.body)
        #expect(Hex.encode(record.signature) == vector.signature)
        #expect(record.id.hex == vector.id)
        #expect(Hex.encode(record.encoded()) == vector.encoded)
        let decoded = try SignedRecord(encoded: Self.bytes(vector.encoded))
        #expect(decoded == record && decoded.author == key.id && decoded.expiresMs == vector.expires_ms)
    }


    @Test func tamperedForeignAndOverlongRecordsAreRefused() throws {
        let key = AgentKey()
        let record = try SignedRecord(signing: Data("{}".utf8), kind: .agent, timeMs: 1_000, expiresMs: 2_000, with: key)
        #expect(try SignedRecord(encoded: record.encoded()) == record)

        var tampered = record.wire
        tampered.body[tampered.body.count - 1] ^= 1
        #expect(throws: PlexusError.self) { _ = try SignedRecord(wire: tampered) }
        var forged = record.wire
        forged.signature = AgentKey().sign(domain: .record, record.body)
        #expect((try? SignedRecord(wire: forged)) == nil)

        let unknownKind = try Self.signedByHand(by: key, kind: "mystery", timeMs: 1_000, expiresMs: 2_000)
        #expect(throws: PlexusError.self) { _ = try SignedRecord(wire: unknownKind) }

        #expect(throws: PlexusError.self) {
            _ = try SignedRecord(signing: Data("{}".utf8), kind: .agent, timeMs: 0, expiresMs: SignedRecord.maxLifetimeMs + 1, with: key)
        }
        #expect(throws: PlexusError.self) {
            _ = try SignedRecord(signing: Data(repeating: 0x20, count: SignedRecord.maxBytes), kind: .agent, timeMs: 0, expiresMs: 1, with: key)
        }

        // A lifetime beyond 64 bits (signing time at the lowest Int64) is refused, not
        // computed (the subtraction overflowed and trapped).
        let ancient = try Self.signedByHand(by: key, kind: SignedRecord.Kind.agent.rawValue, timeMs: .min, expiresMs: 1)
        #expect(throws: PlexusError.self) { _ = try SignedRecord(wire: ancient) }
    }

    /// A record body signed as given, past the checks `SignedRecord(signing:)` makes.
    static func signedByHand(by key: AgentKey, kind: String, timeMs: Int64, expiresMs: UInt64) throws -> Plexus_SoftRecord {
        var fields = Plexus_SoftRecordBody()
        fields.author = key.id.bytes.asData
        fields.kind = kind
        fields.timeMs = timeMs
        fields.expiresMs = expiresMs
        let body = try fields.serializedBytes() as Data
        var wire = Plexus_SoftRecord()
        wire.body = body
        wire.signature = key.sign(domain: .record, body)
        return wire
    }

    @Test func theTableKeepsTheNewestRecordPerSlotWithinItsBound() throws {
        let alice = AgentKey()
        let bob = AgentKey()
        func record(_ key: AgentKey, at time: Int64, lives: Int64 = 1_000) throws -> SignedRecord {
            try SignedRecord(signing: Data("{\"t\":\(time)}".utf8), kind: .agent, timeMs: time, expiresMs: time + lives, with: key)
        }
        var table = SoftStateTable(capacity: 2)
        let first = try record(alice, at: 100)
        let second = try record(alice, at: 200)
        #expect(table.insert(first, nowMs: 150) == .added)
        #expect(table.insert(first, nowMs: 150) == .known)
        #expect(table.holds(first.id))
        #expect(table.insert(second, nowMs: 250) == .replaced)
        #expect(table.holds(second.id) && !table.holds(first.id), "a replaced record is no longer held")
        #expect(table.insert(first, nowMs: 250) == .known, "an older record does not come back")
        #expect(table.record(SignedRecord.Slot(author: alice.id, kind: .agent), nowMs: 250) == second)
        #expect(table.insert(try record(bob, at: 0, lives: 10), nowMs: 50) == .expired)

        // Full: a record that lives longer makes room by evicting the one closest to expiry.
        #expect(table.insert(try record(bob, at: 260, lives: 100), nowMs: 270) == .added)
        let carol = AgentKey()
        #expect(table.insert(try record(carol, at: 270, lives: 10), nowMs: 275) == .full)
        #expect(table.insert(try record(carol, at: 270, lives: 5_000), nowMs: 275) == .added)
        #expect(table.count == 2)
        #expect(table.record(SignedRecord.Slot(author: bob.id, kind: .agent), nowMs: 275) == nil)
        #expect(Set(table.records(of: .agent, nowMs: 275).map(\.author)) == [alice.id, carol.id])
        #expect(table.expire(nowMs: 10_000) == 2)
        #expect(table.count == 0)
        #expect(!table.holds(second.id))
    }
}
