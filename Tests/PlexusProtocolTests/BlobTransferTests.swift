import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The fetching side of a blob transfer, driven without sockets: chunks spread over
/// sources within their windows, a bad or unasked chunk drops its source and goes to
/// another, a source that leaves hands its chunks back, a resumed transfer asks only for
/// what is missing, and a lying manifest is caught by the whole-blob check.
@Suite struct BlobTransferTests {
    static func blob(_ size: Int, chunkSize: UInt32 = 16 * 1024) -> (bytes: Data, id: BlobID, manifest: BlobManifest) {
        var generator = SystemRandomNumberGenerator()
        let bytes = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
        var digester = BlobDigester(chunkSize: chunkSize)
        digester.update(bytes)
        let (id, manifest) = digester.finish()
        return (bytes, id, manifest)
    }

    static func chunk(_ bytes: Data, _ manifest: BlobManifest, _ index: Int) -> Data {
        let start = Int(manifest.offset(of: index))
        return bytes.subdata(in: start..<start + manifest.length(of: index))
    }

    static func requests(_ actions: [BlobTransfer.Action]) -> [(AgentID, Int)] {
        actions.compactMap { if case .request(let peer, let index) = $0 { (peer, index) } else { nil } }
    }

    @Test func chunksSpreadOverSourcesAndTheBlobCompletes() {
        let chunks = 2 * BlobTransfer.window + 10
        let (bytes, id, manifest) = Self.blob((chunks - 1) * 16 * 1024 + 100)
        #expect(manifest.chunkCount == chunks)
        let (a, b) = (AgentKey().id, AgentKey().id)
        var transfer = BlobTransfer(id: Data(id.bytes))
        var pending = Self.requests(transfer.manifestArrived(manifest, from: a, now: .zero))
        #expect(pending.count == BlobTransfer.window, "one window asked of the first source")
        pending += Self.requests(transfer.manifestArrived(manifest, from: b, now: .zero))
        #expect(Set(pending.map(\.1)).count == 2 * BlobTransfer.window, "the second source gets other chunks")
        var written = Set<Int>()
        var completed = false
        var steps = 0
        while let (peer, index) = pending.first, steps < 1_000 {
            steps += 1
            pending.removeFirst()
            for action in transfer.chunkArrived(index: index, bytes: Self.chunk(bytes, manifest, index), from: peer, now: .zero) {
                switch action {
                case .request(let next, let nextIndex): pending.append((next, nextIndex))
                case .write(let written_, let offset):
                    #expect(offset == manifest.offset(of: written_))
                    written.insert(written_)
                case .complete: completed = true
                case .dropSource: Issue.record("an honest source was dropped")
                }
            }
        }
        #expect(completed && written == Set(0..<chunks) && transfer.fetchedBytes == UInt64(bytes.count))
    }

    @Test func aBadOrUnaskedChunkDropsItsSourceAndTheChunkGoesElsewhere() {
        let (bytes, id, manifest) = Self.blob((2 * BlobTransfer.window + 4) * 16 * 1024)
        let (liar, honest) = (AgentKey().id, AgentKey().id)
        var transfer = BlobTransfer(id: Data(id.bytes))
        let asked = Self.requests(transfer.manifestArrived(manifest, from: liar, now: .zero))
        _ = transfer.manifestArrived(manifest, from: honest, now: .zero)
        // A chunk that does not hash to the digest asked for.
        var forged = Self.chunk(bytes, manifest, asked[0].1)
        forged[0] ^= 0xFF
        let actions = transfer.chunkArrived(index: asked[0].1, bytes: forged, from: liar, now: .zero)
        #expect(actions.contains(.dropSource(liar, reason: "chunk \(asked[0].1) does not hash to the manifest's digest")))
        #expect(!actions.contains { if case .write = $0 { true } else { false } }, "nothing of it is written")
        #expect(Self.requests(actions).isEmpty, "the honest source's window is full")
        let honestAsked = (0..<manifest.chunkCount).filter { index in !asked.contains { $0.1 == index } }.prefix(BlobTransfer.window)
        let next = transfer.chunkArrived(
            index: honestAsked.first ?? 0, bytes: Self.chunk(bytes, manifest, honestAsked.first ?? 0), from: honest, now: .zero)
        #expect(Self.requests(next).map(\.0) == [honest] && Self.requests(next).map(\.1) == [asked[0].1], "its chunk goes to the honest source")
        #expect(transfer.manifestArrived(manifest, from: liar, now: .zero).isEmpty, "a dropped source is not taken again")
        // More than asked: a chunk the honest source was not asked for.
        var other = BlobTransfer(id: Data(id.bytes))
        let first = Self.requests(other.manifestArrived(manifest, from: honest, now: .zero))
        let unasked = (0..<manifest.chunkCount).first { index in !first.contains { $0.1 == index } } ?? 0
        let extra = other.chunkArrived(index: unasked, bytes: Self.chunk(bytes, manifest, unasked), from: honest, now: .zero)
        #expect(extra.first == .dropSource(honest, reason: "it sent chunk \(unasked), which was not asked of it"))
        // Works: the right bytes from the asked source are written.
        var good = BlobTransfer(id: Data(id.bytes))
        let goodAsked = Self.requests(good.manifestArrived(manifest, from: honest, now: .zero))
        let wrote = good.chunkArrived(index: goodAsked[0].1, bytes: Self.chunk(bytes, manifest, goodAsked[0].1), from: honest, now: .zero)
        #expect(wrote.first == .write(index: goodAsked[0].1, offset: manifest.offset(of: goodAsked[0].1)))
    }

    @Test func aSourceThatLeavesOrStallsHandsItsChunksBack() {
        let (bytes, id, manifest) = Self.blob(30 * 16 * 1024)
        let (gone, slow, staying) = (AgentKey().id, AgentKey().id, AgentKey().id)
        var transfer = BlobTransfer(id: Data(id.bytes))
        let goneAsked = Self.requests(transfer.manifestArrived(manifest, from: gone, now: .zero))
        var pending = Self.requests(transfer.manifestArrived(manifest, from: staying, now: .zero))
        pending += Self.requests(transfer.sourceGone(gone, now: .seconds(1)))
        var requested: [(AgentID, Int)] = pending
        var completed = false
        while let (peer, index) = pending.first, !completed {
            pending.removeFirst()
            for action in transfer.chunkArrived(index: index, bytes: Self.chunk(bytes, manifest, index), from: peer, now: .seconds(1)) {
                if case .request(let next, let nextIndex) = action {
                    pending.append((next, nextIndex))
                    requested.append((next, nextIndex))
                }
                if action == .complete { completed = true }
            }
        }
        #expect(completed, "the staying source served everything")
        #expect(requested.allSatisfy { $0.0 == staying } && Set(requested.map(\.1)).isSuperset(of: goneAsked.map(\.1)))
        // A source that stops answering is dropped at the timeout, not before.
        var stalling = BlobTransfer(id: Data(id.bytes))
        _ = stalling.manifestArrived(manifest, from: slow, now: .zero)
        #expect(stalling.tick(now: .seconds(5)).isEmpty)
        #expect(stalling.tick(now: BlobTransfer.requestTimeout) == [.dropSource(slow, reason: "it did not answer within \(BlobTransfer.requestTimeout)")])
        #expect(stalling.sourceCount == 0)
    }

    @Test func aResumedTransferAsksOnlyForWhatIsMissingAndALyingManifestIsCaught() {
        let (_, id, manifest) = Self.blob(10 * 16 * 1024)
        let peer = AgentKey().id
        var transfer = BlobTransfer(id: Data(id.bytes))
        let asked = Self.requests(transfer.manifestArrived(manifest, from: peer, present: Set(0..<7), now: .zero))
        #expect(Set(asked.map(\.1)) == [7, 8, 9])
        #expect(transfer.fetchedBytes == 7 * 16 * 1024)
        var whole = BlobTransfer(id: Data(id.bytes))
        #expect(whole.manifestArrived(manifest, from: peer, present: Set(0..<10), now: .zero) == [.complete])
        // The whole blob did not hash to its id: every source that served it is dropped.
        #expect(whole.wholeFailed() == [.dropSource(peer, reason: "its manifest does not describe the blob's bytes")])
        #expect(whole.manifest == nil && whole.refused == [peer])
    }

    @Test func manifestsThatDoNotAddUpOrExceedTheLimitAreRefused() {
        let digests = Data(repeating: 1, count: 32 * 4)
        #expect(BlobManifest(size: 4 * 16 * 1024, chunkSize: 16 * 1024, digests: digests, maxSize: 1 << 20) != nil)
        #expect(BlobManifest(size: 5 * 16 * 1024, chunkSize: 16 * 1024, digests: digests, maxSize: 1 << 20) == nil, "chunk count off")
        #expect(BlobManifest(size: 4 * 16 * 1024, chunkSize: 16 * 1024, digests: digests, maxSize: 1024) == nil, "over the limit")
        #expect(BlobManifest(size: 4 * 16 * 1024, chunkSize: 100, digests: digests, maxSize: 1 << 20) == nil, "chunk size out of range")
    }
}
