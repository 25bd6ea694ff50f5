import Crypto
import Foundation
import Testing
@testable import PlexusCore

/// Exchange keys, HPKE-sealed epoch keys and the per-entry envelope cipher: round trips,
/// and every wrong key, label or byte refused.
@Suite struct GroupCryptoTests {
    let alice = AgentKey()
    let bob = AgentKey()
    let group = EntryID(hashing: Data("group".utf8))
    let epoch = EntryID(hashing: Data("epoch".utf8))

    @Test func anExchangeKeyIsDerivedFromTheSeedAndBoundByASignature() throws {
        let again = try AgentKey(seed: alice.seed)
        #expect(ExchangeKey(agent: again).publicKey.rawRepresentation == ExchangeKey(agent: alice).publicKey.rawRepresentation)
        #expect(ExchangeKey(agent: bob).publicKey.rawRepresentation != ExchangeKey(agent: alice).publicKey.rawRepresentation)
        let binding = ExchangeKey.binding(of: alice)
        #expect(binding.verifiedKey()?.rawRepresentation == ExchangeKey(agent: alice).publicKey.rawRepresentation)
        // Claimed for another agent, or with another key, it does not verify.
        #expect(ExchangeKeyBinding(agent: bob.id, publicKey: binding.publicKey, signature: binding.signature).verifiedKey() == nil)
        let bobs = ExchangeKey(agent: bob).publicKey.rawRepresentation
        #expect(ExchangeKeyBinding(agent: alice.id, publicKey: bobs, signature: binding.signature).verifiedKey() == nil)
    }

    @Test func anEpochKeySealedToAnAgentOpensOnlyWithItsKey() throws {
        let key = SymmetricKey(size: .bits256)
        let sealed = try SealedEpochKey.seal(key, to: ExchangeKey.binding(of: bob))
        #expect(sealed.encapsulatedKey.count == 32 && sealed.ciphertext.count == 48)
        let opened = try sealed.open(with: ExchangeKey(agent: bob))
        #expect(opened == key)
        #expect(throws: PlexusError.self) { try sealed.open(with: ExchangeKey(agent: alice)) }
        // Relabelled for another recipient, or with a byte flipped, it does not open.
        let relabelled = SealedEpochKey(recipient: alice.id, encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
        #expect(throws: PlexusError.self) { try relabelled.open(with: ExchangeKey(agent: bob)) }
        var flipped = sealed.ciphertext
        flipped[flipped.startIndex] ^= 1
        let altered = SealedEpochKey(recipient: bob.id, encapsulatedKey: sealed.encapsulatedKey, ciphertext: flipped)
        do {
            _ = try altered.open(with: ExchangeKey(agent: bob))
            Issue.record("an altered seal opened")
        } catch {
            #expect(error.code == .malformedEnvelope)
        }
        // A forged binding is refused before anything is sealed.
        let forged = ExchangeKeyBinding(agent: bob.id, publicKey: ExchangeKey(agent: alice).publicKey.rawRepresentation, signature: Data(count: 64))
        #expect(throws: PlexusError.self) { try SealedEpochKey.seal(key, to: forged) }
    }

    @Test func anEntrySealedUnderAnEpochOpensOnlyForItsGroupAuthorSeqAndEpoch() throws {
        let key = SymmetricKey(size: .bits256)
        let salt = Data(repeating: 7, count: GroupEnvelopeCipher.saltBytes)
        let plaintext = Data(#"{"text":"WAL readers never block"}"#.utf8)
        let sealed = try GroupEnvelopeCipher.seal(plaintext, epochKey: key, epoch: epoch, group: group, author: alice.id, seq: 3, salt: salt)
        #expect(sealed.count == plaintext.count + 16)
        #expect(sealed.range(of: Data("WAL".utf8)) == nil)
        #expect(try GroupEnvelopeCipher.open(sealed, epochKey: key, epoch: epoch, group: group, author: alice.id, seq: 3, salt: salt) == plaintext)
        let other = EntryID(hashing: Data("other".utf8))
        let attempts: [() throws -> Data] = [
            { try GroupEnvelopeCipher.open(sealed, epochKey: SymmetricKey(size: .bits256), epoch: self.epoch, group: self.group, author: self.alice.id, seq: 3, salt: salt) },
            { try GroupEnvelopeCipher.open(sealed, epochKey: key, epoch: other, group: self.group, author: self.alice.id, seq: 3, salt: salt) },
            { try GroupEnvelopeCipher.open(sealed, epochKey: key, epoch: self.epoch, group: other, author: self.alice.id, seq: 3, salt: salt) },
            { try GroupEnvelopeCipher.open(sealed, epochKey: key, epoch: self.epoch, group: self.group, author: self.bob.id, seq: 3, salt: salt) },
            { try GroupEnvelopeCipher.open(sealed, epochKey: key, epoch: self.epoch, group: self.group, author: self.alice.id, seq: 4, salt: salt) },
            { try GroupEnvelopeCipher.open(sealed, epochKey: key, epoch: self.epoch, group: self.group, author: self.alice.id, seq: 3, salt: Data(count: 16)) },
            { try GroupEnvelopeCipher.open(sealed.dropLast(), epochKey: key, epoch: self.epoch, group: self.group, author: self.alice.id, seq: 3, salt: salt) },
        ]
        for attempt in attempts {
            #expect(throws: PlexusError.self) { try attempt() }
        }
        // The same plaintext at another seq seals differently.
        let next = try GroupEnvelopeCipher.seal(plaintext, epochKey: key, epoch: epoch, group: group, author: alice.id, seq: 4, salt: salt)
        #expect(next != sealed)
    }
}
