import Foundation
import Testing
@testable import PlexusCore

@Suite struct EncodingTests {
    @Test(arguments: [
        ("", ""), ("f", "my"), ("fo", "mzxq"), ("foo", "mzxw6"), ("foob", "mzxw6yq"),
        ("fooba", "mzxw6ytb"), ("foobar", "mzxw6ytboi"),
    ])
    func base32MatchesRFC4648(plain: String, encoded: String) throws {
        #expect(Base32.encode(Array(plain.utf8)) == encoded)
        #expect(try #require(Base32.decode(encoded)) == Array(plain.utf8))
        #expect(try #require(Base32.decode(encoded.uppercased())) == Array(plain.utf8))
    }

    @Test func base32RejectsGarbage() {
        #expect(Base32.decode("mzxw6ytbo1") == nil)  // '1' is not in the alphabet
        #expect(Base32.decode("m") == nil)  // impossible length
        #expect(Base32.decode("mz") == nil)  // non-zero trailing bits
    }

    @Test func hexRoundTripsAndRejectsGarbage() throws {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff]
        #expect(Hex.encode(bytes) == "00017f80ff")
        #expect(try #require(Hex.decode("00017F80ff")) == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func agentIDParsesBothTextForms() throws {
        let key = AgentKey()
        #expect(key.id.base32.count == 52)
        #expect(AgentID(key.id.base32) == key.id)
        #expect(AgentID(key.id.hex) == key.id)
        #expect(AgentID("not-an-id") == nil)
        #expect(throws: PlexusError.self) { try AgentID.parse("short") }
    }

    @Test func jsonValueCanonicalFormSortsKeysAndCollectsStrings() throws {
        let value = try JSONValue(parsing: Data(#"{"b":[1,"two",{"z":"deep"}],"a":true,"c":null,"d":1.5}"#.utf8))
        #expect(String(decoding: value.canonicalData(), as: UTF8.self) == #"{"a":true,"b":[1,"two",{"z":"deep"}],"c":null,"d":1.5}"#)
        #expect(value.strings() == ["two", "deep"])
    }

    @Test func jsonValueRejectsInvalidAndTooDeepInput() {
        let invalid = #expect(throws: PlexusError.self) { try JSONValue(parsing: Data("{bad".utf8)) }
        #expect(invalid?.code == .invalidJSON)
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let tooDeep = #expect(throws: PlexusError.self) { try JSONValue(parsing: Data(deep.utf8)) }
        #expect(tooDeep?.code == .invalidJSON)
    }
}
