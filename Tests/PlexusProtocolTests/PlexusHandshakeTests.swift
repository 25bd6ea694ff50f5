import Crypto
import Foundation
import PlexusCore
import SwiftProtobuf
import Testing
@testable import PlexusProtocol

/// The Plexus handshake over the sans-IO Noise machine: identities, pinning, network keys.
@Suite struct PlexusHandshakeTests {
    struct Side {
        var identity = AgentKey()
        var noiseStatic = Curve25519.KeyAgreement.PrivateKey()
    }

    /// Runs a whole handshake in memory; returns both ends.
    static func run(
        _ a: Side, _ b: Side, networkA: String = "plexus-main", networkB: String = "plexus-main", pin: AgentID? = nil
    ) throws -> (PlexusHandshake, PlexusHandshake) {
        var initiator = PlexusHandshake(
            role: .initiator, networkKey: networkA, identity: a.identity, noiseStatic: a.noiseStatic, expectedPeer: pin)
        var responder = PlexusHandshake(role: .responder, networkKey: networkB, identity: b.identity, noiseStatic: b.noiseStatic)
        let message1 = try initiator.start()
        let message2 = try #require(try responder.receive(message1))
        let message3 = try #require(try initiator.receive(message2))
        #expect(try responder.receive(message3) == nil)
        return (initiator, responder)
    }

    @Test func bothSidesLearnTheOthersVerifiedIdentity() throws {
        let a = Side()
        let b = Side()
        let (initiator, responder) = try Self.run(a, b)
        #expect(initiator.isComplete && responder.isComplete)
        #expect(initiator.peer?.agentID == b.identity.id)
        #expect(responder.peer?.agentID == a.identity.id)
        #expect(initiator.peer?.features == PlexusHandshake.features)
        #expect(initiator.handshakeHash == responder.handshakeHash)
        var (send, _) = try initiator.transportCiphers()
        var (_, receive) = try responder.transportCiphers()
        let ciphertext = try send.encrypt(ad: Data(), plaintext: Data("hi".utf8))
        #expect(try receive.decrypt(ad: Data(), ciphertext: ciphertext) == Data("hi".utf8))
    }

    @Test func differentNetworkKeysFailCryptographically() {
        #expect(throws: HandshakeError.noise(.decryptionFailed)) {
            _ = try Self.run(Side(), Side(), networkA: "plexus-main", networkB: "other-network")
        }
    }

    @Test func pinnedIdentityMustMatch() throws {
        let b = Side()
        let stranger = AgentKey().id
        #expect(throws: HandshakeError.unexpectedPeer(expected: stranger, actual: b.identity.id)) {
            _ = try Self.run(Side(), b, pin: stranger)
        }
        _ = try Self.run(Side(), b, pin: b.identity.id)
    }

    @Test func aPayloadSignedForAnotherNoiseKeyIsRefused() throws {
        // An impostor reuses a real agent's signature made for a different Noise static key.
        let victim = Side()
        let impostorStatic = Curve25519.KeyAgreement.PrivateKey()
        var payload = Plexus_HandshakePayload()
        payload.identityKey = victim.identity.id.bytes.asData
        payload.identitySig = victim.identity.sign(domain: .noiseStatic, victim.noiseStatic.publicKey.rawRepresentation)
        let forged: Data = try payload.serializedBytes()

        var initiator = PlexusHandshake(role: .initiator, networkKey: "n", identity: AgentKey(), noiseStatic: .init())
        var responderNoise = NoiseXXHandshake(
            role: .responder, prologue: PlexusHandshake.prologue(networkKey: "n"), staticKey: impostorStatic)
        _ = try responderNoise.readMessage(try initiator.start())
        let message2 = try responderNoise.writeMessage(payload: forged)
        #expect(throws: HandshakeError.badIdentitySignature) { _ = try initiator.receive(message2) }
    }

    @Test func rememberedBindingsSkipOnlyIdenticalSignatures() throws {
        let cache = IdentityBindingCache()
        let a = Side()
        let b = Side()
        for _ in 0..<2 {
            var initiator = PlexusHandshake(
                role: .initiator, networkKey: "n", identity: a.identity, noiseStatic: a.noiseStatic, verifiedBindings: cache)
            var responder = PlexusHandshake(role: .responder, networkKey: "n", identity: b.identity, noiseStatic: b.noiseStatic)
            let message2 = try #require(try responder.receive(try initiator.start()))
            _ = try responder.receive(try #require(try initiator.receive(message2)))
            #expect(initiator.peer?.agentID == b.identity.id)
        }
        // The same agent with a different Noise key and a signature for the old one: refused,
        // although the agent's earlier binding is remembered.
        var payload = Plexus_HandshakePayload()
        payload.identityKey = b.identity.id.bytes.asData
        payload.identitySig = b.identity.sign(domain: .noiseStatic, b.noiseStatic.publicKey.rawRepresentation)
        var initiator = PlexusHandshake(
            role: .initiator, networkKey: "n", identity: a.identity, noiseStatic: a.noiseStatic, verifiedBindings: cache)
        var impostor = NoiseXXHandshake(role: .responder, prologue: PlexusHandshake.prologue(networkKey: "n"), staticKey: .init())
        _ = try impostor.readMessage(try initiator.start())
        let message2 = try impostor.writeMessage(payload: try payload.serializedBytes() as Data)
        #expect(throws: HandshakeError.badIdentitySignature) { _ = try initiator.receive(message2) }
    }

    @Test func garbagePayloadIsMalformed() throws {
        var initiator = PlexusHandshake(role: .initiator, networkKey: "n", identity: AgentKey(), noiseStatic: .init())
        var responderNoise = NoiseXXHandshake(role: .responder, prologue: PlexusHandshake.prologue(networkKey: "n"), staticKey: .init())
        _ = try responderNoise.readMessage(try initiator.start())
        let message2 = try responderNoise.writeMessage(payload: Data([0xff, 0xff]))
        #expect(throws: HandshakeError.self) { _ = try initiator.receive(message2) }
    }

    @Test func connectingToYourselfIsRefused() {
        let a = Side()
        let twin = Side(identity: a.identity)
        #expect(throws: HandshakeError.connectedToSelf) { _ = try Self.run(a, twin) }
    }

    @Test func prologueIsThePrefixAndTheNetworkHash() {
        let prologue = PlexusHandshake.prologue(networkKey: "plexus-main")
        #expect(prologue.count == 40)
        #expect(Array(prologue.prefix(8)) == Array("plexus/1".utf8))
        #expect(Array(prologue.suffix(32)) == Array(SHA256.hash(data: Array("plexus-network:plexus-main".utf8))))
    }
}

