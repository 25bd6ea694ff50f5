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
