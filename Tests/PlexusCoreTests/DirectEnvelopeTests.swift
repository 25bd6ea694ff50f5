import Foundation
import PlexusCore
import Testing

/// Direct message frames: signed by the writer for one target, content sealed to the
/// target alone; any change to a signed field breaks the signature.
@Suite struct DirectEnvelopeTests {
    let alice = AgentKey()
    let bob = AgentKey()

    func message(_ text: String = "hi") throws -> Plexus_Direct {
        try DirectEnvelope.message(
            id: DirectID.random(), content: Data(#"{"text":"\#(text)"}"#.utf8), from: alice, to: bob.id,
            targetKey: ExchangeKey(agent: bob).publicKey, timeMs: 1_800_000_000_000)
    }

    @Test func theTargetOpensWhatTheWriterSigned() throws {
        // Long enough not to turn up in the ciphertext by chance (the two bytes of "hi"
        // did, in one full run on 2026-12-07).
        let text = "meet at the usual place at nine"
        let direct = try message(text)
        #expect(DirectEnvelope.verifiedOrigin(of: direct) == alice.id)
        let content = try DirectEnvelope.open(direct.message, for: bob.id, with: ExchangeKey(agent: bob))
        #expect(String(decoding: content, as: UTF8.self) == #"{"text":"\#(text)"}"#)
        #expect(direct.message.ciphertext.range(of: Data(text.utf8)) == nil)
    }

    @Test func onlyTheTargetCanOpen() throws {
        let direct = try message()
        let carol = AgentKey()
        #expect(throws: PlexusError.self) { _ = try DirectEnvelope.open(direct.message, for: carol.id, with: ExchangeKey(agent: carol)) }
        // Bob's key under another id does not open it either: the id is part of the seal.
        #expect(throws: PlexusError.self) { _ = try DirectEnvelope.open(direct.message, for: carol.id, with: ExchangeKey(agent: bob)) }
    }

    @Test func everySignedFieldIsCovered() throws {
        let direct = try message()
        var tampered = [direct, direct, direct, direct, direct]
        tampered[0].id = Data(DirectID.random().bytes)
        tampered[1].target = AgentKey().id.bytes.asData
        tampered[2].message.timeMs += 1
        let first = direct.message.ciphertext.startIndex
        tampered[3].message.ciphertext[first] ^= 1
        tampered[4].origin = bob.id.bytes.asData
        for frame in tampered { #expect(DirectEnvelope.verifiedOrigin(of: frame) == nil) }
        let answer = DirectEnvelope.answer(to: try #require(DirectID(bytes: direct.id)), refusal: "no", from: bob, to: alice.id)
        #expect(DirectEnvelope.verifiedOrigin(of: answer) == bob.id)
        var changed = answer
        changed.refused = "yes"
        #expect(DirectEnvelope.verifiedOrigin(of: changed) == nil)
    }

    @Test func contentIsBounded() {
        let big = Data(repeating: 0x61, count: DirectEnvelope.maxContentBytes + 1)
        #expect(throws: PlexusError.self) {
            _ = try DirectEnvelope.message(
                id: DirectID.random(), content: big, from: alice, to: bob.id, targetKey: ExchangeKey(agent: bob).publicKey, timeMs: 0)
        }
    }
}
