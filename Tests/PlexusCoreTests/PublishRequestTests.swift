import Foundation
import Testing
@testable import PlexusCore

@Suite struct PublishRequestTests {
    func parse(_ text: String) throws -> PublishRequest {
        try PublishRequest(json: try JSONValue(parsing: Data(text.utf8)))
    }

    @Test func fullRequestParses() throws {
        let id = EntryID(hashing: Data("x".utf8))
        let request = try parse(#"{"type":"query","topic":"t","tags":["a","b"],"refs":["\#(id.hex)"],"content":{"q":1},"ttl_s":60}"#)
        #expect(request.type == "query")
        #expect(request.tags == ["a", "b"])
        #expect(request.refs == [id])
        let draft = try request.draft(nowMs: 1000)
        #expect(draft.expiresMs == 61_000)
    }

    @Test(arguments: [
        (#"[]"#, PlexusError.Code.invalidJSON),
        (#"{"type":"x"}"#, .invalidContent),
        (#"{"content":{},"tag":"x"}"#, .invalidArgument),
        (#"{"content":{},"tags":"x"}"#, .invalidArgument),
        (#"{"content":{},"tags":[1]}"#, .invalidArgument),
        (#"{"content":{},"refs":["nothex"]}"#, .invalidArgument),
        (#"{"content":{},"ttl_s":-5}"#, .invalidArgument),
        (#"{"content":{},"type":7}"#, .invalidArgument),
    ])
    func badRequestsGetSpecificCodes(body: String, code: PlexusError.Code) {
        let error = #expect(throws: PlexusError.self) { try parse(body) }
        #expect(error?.code == code)
    }

    @Test func expiryAndTTLTogetherAreRefused() throws {
        let request = try parse(#"{"content":{},"ttl_s":5,"expires_ms":99}"#)
        let error = #expect(throws: PlexusError.self) { try request.draft(nowMs: 0) }
        #expect(error?.code == .invalidArgument)
    }
}

@Suite struct PublishExpiryTests {
    @Test func anExpiryIsGivenOneWayAsMillisecondsADateTimeOrSeconds() throws {
        let now: Int64 = 1_700_000_000_000
        let at = try PublishRequest(json: .object(["content": .object([:]), "expires_at": .string("2026-12-31T23:59:59Z")]))
        #expect(try at.draft(nowMs: now).expiresMs == 1_798_761_599_000)
        let ttl = try PublishRequest(json: .object(["content": .object([:]), "ttl_s": .integer(60)]))
        #expect(try ttl.draft(nowMs: now).expiresMs == UInt64(now) + 60_000)
        let plain = try PublishRequest(json: .object(["content": .object([:]), "expires_at": .null]))
        #expect(try plain.draft(nowMs: now).expiresMs == nil)

        let both = try PublishRequest(json: .object(["content": .object([:]), "expires_at": .string("2026-12-31T23:59:59Z"), "ttl_s": .integer(5)]))
        #expect(throws: PlexusError.self) { try both.draft(nowMs: now) }
        let malformed = try PublishRequest(json: .object(["content": .object([:]), "expires_at": .string("next tuesday")]))
        let error = #expect(throws: PlexusError.self) { try malformed.draft(nowMs: now) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("RFC 3339") == true)
    }
}
