import Crypto
import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The official Noise_XX_25519_ChaChaPoly_SHA256 vectors (cacophony and snow), reproduced
/// byte for byte: every handshake message, the handshake hash, every transport message.
@Suite struct NoiseVectorTests {
    struct Vector: Decodable {
        struct Message: Decodable {
            let payload: String
            let ciphertext: String
        }

        let protocol_name: String
        let init_prologue: String
        let init_static: String
        let init_ephemeral: String
        let resp_prologue: String
        let resp_static: String
        let resp_ephemeral: String
        let handshake_hash: String?
        let messages: [Message]
        let source: String
    }

    struct File: Decodable {
        let vectors: [Vector]
    }

    static let vectors: [Vector] = (try? loadVectors()) ?? []

    static func loadVectors() throws -> [Vector] {
        let url = try #require(Bundle.module.resourceURL)
            .appendingPathComponent("Vectors/noise-xx-25519-chachapoly-sha256.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors
    }

    static func bytes(_ hex: String) -> Data { Data(Hex.decode(hex) ?? []) }

    static func key(_ hex: String) throws -> Curve25519.KeyAgreement.PrivateKey {
        try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: bytes(hex))
    }

    @Test func vectorsAreLoaded() throws {
        #expect(try Self.loadVectors().count == 2)
        #expect(Self.vectors.allSatisfy { $0.protocol_name == NoiseXXHandshake.protocolName })
    }

    @Test(arguments: vectors.map(\.source))
    func reproducesVector(source: String) throws {
        let vector = try #require(Self.vectors.first { $0.source == source })
        var initiator = NoiseXXHandshake(
            role: .initiator, prologue: Self.bytes(vector.init_prologue),
            staticKey: try Self.key(vector.init_static), ephemeralKey: try Self.key(vector.init_ephemeral))
        var responder = NoiseXXHandshake(
            role: .responder, prologue: Self.bytes(vector.resp_prologue),
            staticKey: try Self.key(vector.resp_static), ephemeralKey: try Self.key(vector.resp_ephemeral))

        // Handshake: initiator, responder, initiator.
        for (index, message) in vector.messages.prefix(3).enumerated() {
            let writerIsInitiator = index % 2 == 0
            let written = writerIsInitiator
                ? try initiator.writeMessage(payload: Self.bytes(message.payload))
                : try responder.writeMessage(payload: Self.bytes(message.payload))
            #expect(Hex.encode(written) == message.ciphertext, "handshake message \(index + 1)")
            let read = writerIsInitiator ? try responder.readMessage(written) : try initiator.readMessage(written)
            #expect(Hex.encode(read) == message.payload)
        }
        #expect(initiator.isComplete && responder.isComplete)
        // The snow file gives no handshake hash; where one is given it must match.
        if let expected = vector.handshake_hash {
            #expect(Hex.encode(initiator.handshakeHash) == expected)
        }
        #expect(initiator.handshakeHash == responder.handshakeHash)
        #expect(initiator.remoteStatic?.rawRepresentation == (try Self.key(vector.resp_static)).publicKey.rawRepresentation)

        // Transport messages keep alternating after the handshake's I, R, I: responder first.
        var (initiatorSend, initiatorReceive) = try initiator.transportCiphers()
        var (responderSend, responderReceive) = try responder.transportCiphers()
        for (index, message) in vector.messages.dropFirst(3).enumerated() {
            let fromInitiator = index % 2 == 1
            let ciphertext = fromInitiator
                ? try initiatorSend.encrypt(ad: Data(), plaintext: Self.bytes(message.payload))
                : try responderSend.encrypt(ad: Data(), plaintext: Self.bytes(message.payload))
            #expect(Hex.encode(ciphertext) == message.ciphertext, "transport message \(index + 1)")
            let plaintext = fromInitiator
                ? try responderReceive.decrypt(ad: Data(), ciphertext: ciphertext)
                : try initiatorReceive.decrypt(ad: Data(), ciphertext: ciphertext)
            #expect(Hex.encode(plaintext) == message.payload)
        }
    }

    @Test func tamperedMessagesAndWrongProloguesFail() throws {
        var initiator = NoiseXXHandshake(role: .initiator, prologue: Data("a".utf8), staticKey: .init())
        var responder = NoiseXXHandshake(role: .responder, prologue: Data("b".utf8), staticKey: .init())
        let first = try initiator.writeMessage(payload: Data())
        _ = try responder.readMessage(first)
        let second = try responder.writeMessage(payload: Data("hello".utf8))
        // Different prologues: the transcript hashes differ, so message 2 does not authenticate.
        #expect(throws: NoiseError.decryptionFailed) { try initiator.readMessage(second) }

        var a = NoiseXXHandshake(role: .initiator, prologue: Data(), staticKey: .init())
        var b = NoiseXXHandshake(role: .responder, prologue: Data(), staticKey: .init())
        _ = try b.readMessage(try a.writeMessage(payload: Data()))
        var tampered = try b.writeMessage(payload: Data())
        tampered[tampered.count - 1] ^= 1
        #expect(throws: NoiseError.decryptionFailed) { try a.readMessage(tampered) }
        #expect(throws: NoiseError.self) { try b.readMessage(Data([1, 2, 3])) }
        #expect(throws: NoiseError.outOfTurn) { try b.writeMessage(payload: Data()) }
    }

    @Test func truncatedFirstMessageIsMalformed() {
        var responder = NoiseXXHandshake(role: .responder, prologue: Data(), staticKey: .init())
        #expect(throws: NoiseError.self) { try responder.readMessage(Data(repeating: 9, count: 31)) }
    }
}
