import Foundation
import Testing
@testable import PlexusCore

@Suite struct SealedKeyTests {
    // A low scrypt cost keeps the tests fast; the format and code path are the same.
    let logN = 10

    @Test func plainKeyRoundTrips() throws {
        let key = AgentKey()
        let file = try SealedKey(json: SealedKey(plain: key).json())
        #expect(!file.needsPassphrase)
        #expect(try file.open(passphrase: nil).id == key.id)
    }

    @Test func sealedKeyOpensOnlyWithItsPassphrase() throws {
        let key = AgentKey()
        let sealed = try SealedKey(sealing: key, passphrase: "correct horse", logN: logN)
        let file = try SealedKey(json: sealed.json())
        #expect(file.needsPassphrase)
        #expect(file.seed == nil)
        #expect(!String(decoding: sealed.json(), as: UTF8.self).contains(Hex.encode(key.seed)))
        #expect(try file.open(passphrase: "correct horse").id == key.id)
        let wrong = #expect(throws: PlexusError.self) { try file.open(passphrase: "wrong") }
        #expect(wrong?.code == .wrongPassphrase)
        let missing = #expect(throws: PlexusError.self) { try file.open(passphrase: nil) }
        #expect(missing?.code == .wrongPassphrase)
    }

    @Test func defaultScryptCostIsAtLeast2To15() throws {
        let sealed = try SealedKey(sealing: AgentKey(), passphrase: "p")
        #expect((sealed.scrypt?.logN ?? 0) >= 15)
    }

    @Test func corruptedFilesAreReportedAsCorrupt() throws {
        let notJSON = #expect(throws: PlexusError.self) { try SealedKey(json: Data("garbage".utf8)) }
        #expect(notJSON?.code == .keyFileCorrupt)

        var swapped = SealedKey(plain: AgentKey())
        swapped.agentID = AgentKey().id  // seed no longer matches the recorded id
        let mismatch = #expect(throws: PlexusError.self) { try swapped.open(passphrase: nil) }
        #expect(mismatch?.code == .keyFileCorrupt)

        var truncated = SealedKey(plain: AgentKey())
        truncated.seed = "abcd"
        let short = #expect(throws: PlexusError.self) { try truncated.open(passphrase: nil) }
        #expect(short?.code == .keyFileCorrupt)
    }
}
