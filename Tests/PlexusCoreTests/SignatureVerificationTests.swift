import CSodium
import Crypto
import Foundation
import Testing
@testable import PlexusCore

/// `AgentID.verify` asks libsodium first and BoringSSL about what libsodium refuses: the
/// answer must be BoringSSL's in every case, the fast path only making it sooner.
@Suite struct SignatureVerificationTests {
    /// BoringSSL's answer (swift-crypto), over the same `domain ‖ message` input.
    static func boringSSL(_ agent: AgentID, _ signature: Data, _ domain: SigningDomain, _ message: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: agent.bytes) else { return false }
        return key.isValidSignature(signature, for: Data(domain.prefix.utf8) + message)
    }

    /// libsodium's own answer.
    static func libsodium(_ agent: AgentID, _ signature: Data, _ domain: SigningDomain, _ message: Data) -> Bool {
        _ = sodium_init()
        let input = [UInt8](Data(domain.prefix.utf8) + message)
        return crypto_sign_verify_detached([UInt8](signature), input, UInt64(input.count), agent.bytes) == 0
    }

    @Test func signaturesAndTheirCorruptionsGetBoringSSLsAnswer() throws {
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        for round in 0..<300 {
            let key = AgentKey()
            let message = Data((0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var signature = key.sign(domain: .entry, message)
            var signer = key.id
            switch round % 4 {
            case 1: signature[Int.random(in: 0..<64, using: &generator)] ^= 1 << UInt8.random(in: 0...7, using: &generator)
            case 2: signer = AgentKey().id
            case 3: signature = Data((0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) })
            default: break
            }
            if round % 4 == 0 { #expect(Self.libsodium(signer, signature, .entry, message), "libsodium takes what it is asked first") }
            let answer = signer.verify(signature: signature, domain: .entry, message)
            #expect(answer == Self.boringSSL(signer, signature, .entry, message), "round \(round)")
            if answer { accepted += 1 }
        }
        #expect(accepted >= 75, "every untouched signature verifies")
    }

    /// The identity point as a key, with R the identity and S = 0: RFC 8032's check without
    /// the cofactor holds for any message, and BoringSSL accepts it; libsodium refuses
    /// small-order points. The answer stays BoringSSL's.
    @Test func whatLibsodiumRefusesIsLeftToBoringSSL() throws {
        let identity = [UInt8(1)] + [UInt8](repeating: 0, count: 31)
        let agent = try #require(AgentID(bytes: identity))
        let signature = Data(identity + [UInt8](repeating: 0, count: 32))
        let message = Data("anything".utf8)
        #expect(!Self.libsodium(agent, signature, .entry, message))
        #expect(Self.boringSSL(agent, signature, .entry, message))
        #expect(agent.verify(signature: signature, domain: .entry, message))

        // S not below the group order (S + L): refused by both.
        let key = AgentKey()
        var signature2 = [UInt8](key.sign(domain: .entry, message))
        var carry = 0
        for index in 0..<32 {
            let sum = Int(signature2[32 + index]) + Int(AgentID.groupOrder[index]) + carry
            signature2[32 + index] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        #expect(key.id.verify(signature: key.sign(domain: .entry, message), domain: .entry, message))
        #expect(!key.id.verify(signature: Data(signature2), domain: .entry, message))
        #expect(!Self.boringSSL(key.id, Data(signature2), .entry, message))
    }
}
