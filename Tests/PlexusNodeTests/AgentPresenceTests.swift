import Foundation
import PlexusCore
import Testing
@testable import PlexusNode

/// How an agent record's announce interval turns into its presence.
@Suite struct AgentPresenceTests {
    private func presence(intervalS: Int, ageMs: Int64) throws -> AgentView.Presence? {
        let content = try JSONEncoder().encode(AgentRecord(intervalS: intervalS))
        let record = try SignedRecord(signing: content, kind: .agent, timeMs: 1_000_000, expiresMs: 1_900_000, with: AgentKey())
        return Node.view(of: record, nowMs: 1_000_000 + ageMs)?.presence
    }

    @Test func anAgentIsStaleAfterTwoAnnounceIntervals() throws {
        #expect(try presence(intervalS: 300, ageMs: 600_000) == .online)
        #expect(try presence(intervalS: 300, ageMs: 600_001) == .stale)
    }

    /// The interval is the author's to choose: beyond what milliseconds hold it reads as
    /// never stale, below zero as always (the multiplication overflowed and trapped).
    @Test func anIntervalOutOfRangeIsClampedNotMultipliedPastInt64() throws {
        #expect(try presence(intervalS: .max, ageMs: 800_000) == .online)
        #expect(try presence(intervalS: 4_611_686_018_427_388, ageMs: 800_000) == .online)
        #expect(try presence(intervalS: -4_611_686_018_427_388, ageMs: 0) == .online)
        #expect(try presence(intervalS: -4_611_686_018_427_388, ageMs: 1) == .stale)
    }
}
