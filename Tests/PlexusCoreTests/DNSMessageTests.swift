import Foundation
import PlexusCore
import Testing

/// The DNS codec of multicast DNS discovery: what it writes reads back, compressed names
/// (as other stacks send them) are read, and hostile messages are refused, not followed.
@Suite struct DNSMessageTests {
    @Test func anAdvertisementReadsBack() throws {
        var message = DNSMessage(isResponse: true)
        message.answers = [.init(name: "_plexus._tcp.local.", ttl: 4500, data: .ptr("plexus-abc._plexus._tcp.local."), unique: false)]
        message.additionals = [
            .init(name: "plexus-abc._plexus._tcp.local.", ttl: 120, data: .srv(priority: 0, weight: 0, port: 7465, target: "plexus-abc.local."), unique: true),
            .init(name: "plexus-abc._plexus._tcp.local.", ttl: 4500, data: .txt(["id=abc", "net=00ff"]), unique: true),
            .init(name: "plexus-abc.local.", ttl: 120, data: .a([10, 77, 0, 1]), unique: true),
        ]
        let decoded = try #require(DNSMessage.decode(message.encoded()))
        #expect(decoded == message)
    }

    @Test func compressedNamesAreFollowed() throws {
        // A response whose PTR target points back into the question's name (offset 12).
        var bytes: [UInt8] = [0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += [7] + Array("_plexus".utf8) + [4] + Array("_tcp".utf8) + [5] + Array("local".utf8) + [0, 0, 12, 0, 1]
        bytes += [0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 120, 0, 6, 3] + Array("abc".utf8) + [0xc0, 12]
        let message = try #require(DNSMessage.decode(Data(bytes)))
        #expect(message.questions.first?.name == "_plexus._tcp.local.")
        #expect(message.answers.first?.data == .ptr("abc._plexus._tcp.local."))
    }

    @Test func hostileMessagesAreRefused() {
        // A name that points at itself.
        let loop: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1]
        #expect(DNSMessage.decode(Data(loop)) == nil)
        // Counts beyond the bound, a truncated record, a label past the end.
        #expect(DNSMessage.decode(Data([0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0])) == nil)
        #expect(DNSMessage.decode(Data([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 12])) == nil)
        #expect(DNSMessage.decode(Data([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 0x61])) == nil)
        #expect(DNSMessage.decode(Data()) == nil)
    }
}
