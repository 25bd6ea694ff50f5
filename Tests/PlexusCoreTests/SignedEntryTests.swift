import Crypto
import Foundation
import SwiftProtobuf
import Testing
@testable import PlexusCore

@Suite struct SignedEntryTests {
    let key = AgentKey()

    func sign(_ content: String = #"{"text":"hello"}"#, seq: UInt64 = 1, prev: EntryID? = nil) throws -> SignedEntry {
        let draft = EntryDraft(type: "insight", topic: "t", tags: ["a"], content: try JSONValue(parsing: Data(content.utf8)))
        return try SignedEntry(signing: try draft.body(seq: seq, prev: prev, timeMs: 1_700_000_000_000), with: key)
    }

    @Test func signedEntryRoundTripsThroughTheWireFormat() throws {
        let entry = try sign()
        let decoded = try SignedEntry(encoded: entry.encoded())
        #expect(decoded.id == entry.id)
        #expect(decoded.body == entry.body)
        #expect(decoded.author == key.id)
        #expect(decoded.seq == 1)
        #expect(decoded.prev == nil)
        #expect(decoded.tags == ["a"])
        #expect(decoded.contentJSON == .object(["text": .string("hello")]))
    }

    @Test func idIsTheSHA256OfTheBodyAndSignatureUsesTheDomainPrefix() throws {
        let entry = try sign()
        #expect(entry.id == EntryID(hashing: entry.body))
        #expect(key.id.verify(signature: entry.signature, domain: .entry, entry.body))
        // The same signature must not verify over the bare body (no domain prefix).
        let bare = try Curve25519SigningCheck.verifyWithoutPrefix(key: key.id, signature: entry.signature, body: entry.body)
        #expect(!bare)
    }

    @Test func tamperedBodyOrSignatureIsRefused() throws {
        let entry = try sign()
        var body = entry.body
        body[body.count - 2] ^= 0x01
        let badBody = #expect(throws: PlexusError.self) { try SignedEntry(body: body, signature: entry.signature) }
        #expect(badBody?.code == .badSignature || badBody?.code == .malformedEntry)
        var signature = entry.signature
        signature[0] ^= 0x01
        let badSignature = #expect(throws: PlexusError.self) { try SignedEntry(body: entry.body, signature: signature) }
        #expect(badSignature?.code == .badSignature)
    }

    @Test func garbageBytesAreMalformed() {
        let error = #expect(throws: PlexusError.self) { try SignedEntry(encoded: Data([0xff, 0xff, 0xff, 0x0f])) }
        #expect(error?.code == .malformedEntry)
    }

    @Test func unknownFieldsArePreservedInTheSignedBytes() throws {
        let entry = try sign()
        // A newer author adds field 99 (a string). Older readers keep and ignore it.
        var extended = entry.body
        extended.append(contentsOf: [0x9a, 0x06, 0x03] + Array("new".utf8))  // tag (99<<3|2) as varint, len 3
        let signature = key.sign(domain: .entry, extended)
        let decoded = try SignedEntry(body: extended, signature: signature)
        #expect(decoded.body == extended)
        #expect(!decoded.fields.unknownFields.data.isEmpty)
        #expect(decoded.id == EntryID(hashing: extended))
        let reparsed = try SignedEntry(encoded: decoded.encoded())
        #expect(reparsed.body == extended)
    }

    @Test func oversizeBodyIsRefusedBeforeSigning() throws {
        let big = "{\"text\":\"" + String(repeating: "x", count: 70_000) + "\"}"
        let error = #expect(throws: PlexusError.self) { try sign(big) }
        #expect(error?.code == .tooLarge)
        let small = Limits(maxBodyBytes: 2048)
        let entry = try sign(String(repeating: " ", count: 0) + "{\"text\":\"" + String(repeating: "y", count: 3000) + "\"}")
        let refused = #expect(throws: PlexusError.self) { try SignedEntry(encoded: entry.encoded(), limits: small) }
        #expect(refused?.code == .tooLarge)
    }

    @Test func nonObjectContentIsRefusedWithAReason() throws {
        for text in ["[1,2]", "\"text\"", "42", "null", "true"] {
            let draft = EntryDraft(content: try JSONValue(parsing: Data(text.utf8)))
            let error = #expect(throws: PlexusError.self) { try draft.body(seq: 1, prev: nil, timeMs: 0) }
            #expect(error?.code == .invalidContent)
            #expect(error?.message.contains("must be a JSON object") == true)
        }
    }

    @Test func seqAndPrevStructureIsChecked() throws {
        var fields = Plexus_EntryBody()
        fields.author = key.id.bytes.asData
        fields.seq = 2  // seq 2 without a prev
        fields.content = Data("{}".utf8)
        let body: Data = try fields.serializedBytes()
        let error = #expect(throws: PlexusError.self) { try SignedEntry(body: body, signature: key.sign(domain: .entry, body)) }
        #expect(error?.code == .malformedEntry)
        fields.seq = 0
        let zero: Data = try fields.serializedBytes()
        let zeroError = #expect(throws: PlexusError.self) { try SignedEntry(body: zero, signature: key.sign(domain: .entry, zero)) }
        #expect(zeroError?.code == .malformedEntry)
    }
}

/// Checks a signature over the body alone, to prove the domain prefix matters.
enum Curve25519SigningCheck {
    static func verifyWithoutPrefix(key: AgentID, signature: Data, body: Data) throws -> Bool {
        let publicKey = try Crypto.Curve25519.Signing.PublicKey(rawRepresentation: key.bytes)
        return publicKey.isValidSignature(signature, for: body)
    }
}
