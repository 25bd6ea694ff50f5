import Crypto
import Foundation
import PlexusCore

/// What a blob is made of (PROTOCOL.md §15): its size, the chunk size, and the SHA-256 of
/// each chunk. The blob's id is the SHA-256 of all its bytes; the manifest lets each chunk
/// be checked on arrival, the id checks the manifest once every chunk is in.
public struct BlobManifest: Sendable, Equatable {
    /// The chunk size this implementation cuts blobs into.
    public static let standardChunkSize: UInt32 = 256 * 1024
    /// Chunk sizes accepted from others.
    public static let chunkSizes: ClosedRange<UInt32> = 16 * 1024...(1 << 20)

    public let size: UInt64
    public let chunkSize: UInt32
    /// 32 bytes per chunk, in order.
    public let digests: Data

    public var chunkCount: Int { digests.count / 32 }

    /// A manifest made here, by hashing the bytes (`BlobDigester`).
    init(hashed size: UInt64, chunkSize: UInt32, digests: Data) {
        self.size = size
        self.chunkSize = chunkSize
        self.digests = digests
    }

    /// A manifest as received, checked for consistency and against `maxSize`; nil when it
    /// does not describe a blob this node would take.
    public init?(size: UInt64, chunkSize: UInt32, digests: Data, maxSize: UInt64) {
        guard size <= maxSize, Self.chunkSizes.contains(chunkSize), digests.count % 32 == 0 else { return nil }
        let expected = size == 0 ? 0 : Int((size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
        guard digests.count / 32 == expected else { return nil }
        self.size = size
        self.chunkSize = chunkSize
        self.digests = Data(digests)
    }

    /// Byte offset of chunk `index`.
    public func offset(of index: Int) -> UInt64 { UInt64(index) * UInt64(chunkSize) }

    /// Length of chunk `index` (the last one may be shorter).
    public func length(of index: Int) -> Int {
        Int(min(UInt64(chunkSize), size - offset(of: index)))
    }

    /// The expected SHA-256 of chunk `index`.
    public func digest(of index: Int) -> Data {
        let start = digests.startIndex + index * 32
        return digests[start..<start + 32]
    }

    /// Whether `bytes` are chunk `index`: the right length, hashing to its digest.
    public func verifies(_ bytes: Data, at index: Int) -> Bool {
        guard index >= 0, index < chunkCount, bytes.count == length(of: index) else { return false }
        return Data(SHA256.hash(data: bytes)) == digest(of: index)
    }

    public var message: Plexus_BlobManifest {
        Plexus_BlobManifest.with {
            $0.size = size
            $0.chunkSize = chunkSize
            $0.chunks = digests
        }
    }
}

/// The fetching side of one blob (PROTOCOL.md §15) as a sans-IO state machine: which
/// chunk to ask which source for, and what to do with what arrives. Several sources serve
/// at once, each with a bounded window of requests; a chunk that does not verify, or
/// that was not asked of its sender, drops the source and is asked of another; a source
/// that goes away or stalls hands its chunks back. The driver (`BlobService`) executes the
/// actions: it sends requests, writes verified chunks, and checks the whole blob at the end.
public struct BlobTransfer: Sendable {
    /// What the driver does.
    public enum Action: Sendable, Equatable {
        /// Ask `peer` for chunk `index`.
        case request(AgentID, index: Int)
        /// Chunk `index` verified: write its bytes at its offset.
        case write(index: Int, offset: UInt64)
        /// Stop using `peer` for this blob (it misbehaved or stalled).
        case dropSource(AgentID, reason: String)
        /// Every chunk is written: check the whole blob against its id.
        case complete
    }

    /// Requests in flight per source.
    public static let window = 32
    /// A request unanswered this long goes to another source.
    public static let requestTimeout = Duration.seconds(15)

    public let id: Data
    public private(set) var manifest: BlobManifest?
    /// Verified chunks.
    private var done: [Bool] = []
    public private(set) var doneCount = 0
    /// Chunks not done and not asked for.
    private var waiting: [Int] = []
    /// Chunk index → who was asked, and when.
    private var inFlight: [Int: (peer: AgentID, since: Duration)] = [:]
    /// Sources and their requests in flight, in the order they joined.
    private var sources: [AgentID: Int] = [:]
    private var order: [AgentID] = []
    /// Sources dropped: not taken again for this blob.
    public private(set) var refused: Set<AgentID> = []

    public init(id: Data) {
        self.id = id
    }

    /// Bytes verified so far.
    public var fetchedBytes: UInt64 {
        guard let manifest else { return 0 }
        return done.indices.reduce(0) { $0 + (done[$1] ? UInt64(manifest.length(of: $1)) : 0) }
    }

    public var isComplete: Bool { manifest != nil && doneCount == done.count }
    public var sourceCount: Int { sources.count }

    /// A source answered with its manifest. The first one is adopted (with the chunks
    /// already on disk, `present`); a later source joins only with the same manifest.
    public mutating func manifestArrived(_ manifest: BlobManifest, from peer: AgentID, present: Set<Int> = [], now: Duration) -> [Action] {
        guard !refused.contains(peer), sources[peer] == nil else { return [] }
        if let adopted = self.manifest {
            guard adopted == manifest else { return [.dropSource(peer, reason: "its manifest differs from the one adopted")] }
        } else {
            self.manifest = manifest
            done = (0..<manifest.chunkCount).map { present.contains($0) }
            doneCount = done.filter { $0 }.count
            waiting = done.indices.filter { !done[$0] }
        }
        sources[peer] = 0
        order.append(peer)
        if isComplete { return [.complete] }
        return schedule(now: now)
    }

    /// A chunk arrived from `peer`, with its bytes.
    public mutating func chunkArrived(index: Int, bytes: Data, from peer: AgentID, now: Duration) -> [Action] {
        guard let manifest, sources[peer] != nil else { return [] }
        guard let asked = inFlight[index], asked.peer == peer else {
            return drop(peer, reason: "it sent chunk \(index), which was not asked of it", now: now)
        }
        inFlight[index] = nil
        sources[peer, default: 1] -= 1
        guard manifest.verifies(bytes, at: index) else {
            waiting.append(index)
            return drop(peer, reason: "chunk \(index) does not hash to the manifest's digest", now: now)
        }
        var actions: [Action] = []
        if !done[index] {
            done[index] = true
            doneCount += 1
            actions.append(.write(index: index, offset: manifest.offset(of: index)))
        }
        if isComplete { return actions + [.complete] }
        return actions + schedule(now: now)
    }

    /// A source said it does not have the blob (any more), or its connection closed.
    public mutating func sourceGone(_ peer: AgentID, now: Duration) -> [Action] {
        guard sources[peer] != nil else { return [] }
        release(peer)
        return schedule(now: now)
    }

    /// Time passed: requests unanswered for `requestTimeout` go elsewhere, and their source
    /// is dropped (it stalled).
    public mutating func tick(now: Duration) -> [Action] {
        let stalled = Set(inFlight.values.filter { now - $0.since >= Self.requestTimeout }.map(\.peer))
        var actions: [Action] = []
        for peer in stalled.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
            actions += drop(peer, reason: "it did not answer within \(Self.requestTimeout)", now: now)
        }
        return actions
    }

    /// The whole blob did not hash to its id: the manifest lied. Every source that served
    /// it is dropped, and the transfer starts over.
    public mutating func wholeFailed() -> [Action] {
        let served = order
        manifest = nil
        done = []
        doneCount = 0
        waiting = []
        inFlight = [:]
        sources = [:]
        order = []
        refused.formUnion(served)
        return served.map { .dropSource($0, reason: "its manifest does not describe the blob's bytes") }
    }

    private mutating func drop(_ peer: AgentID, reason: String, now: Duration) -> [Action] {
        release(peer)
        refused.insert(peer)
        return [.dropSource(peer, reason: reason)] + schedule(now: now)
    }

    private mutating func release(_ peer: AgentID) {
        for (index, asked) in inFlight where asked.peer == peer {
            inFlight[index] = nil
            waiting.append(index)
        }
        sources[peer] = nil
        order.removeAll { $0 == peer }
    }

    /// Fills every source's window from the waiting chunks, lowest index first, round robin.
    private mutating func schedule(now: Duration) -> [Action] {
        guard !waiting.isEmpty, !order.isEmpty else { return [] }
        waiting.sort(by: >)
        var actions: [Action] = []
        var progressed = true
        while progressed, !waiting.isEmpty {
            progressed = false
            for peer in order where (sources[peer] ?? Self.window) < Self.window {
                guard let index = waiting.popLast() else { break }
                if done[index] || inFlight[index] != nil { continue }
                inFlight[index] = (peer, now)
                sources[peer, default: 0] += 1
                actions.append(.request(peer, index: index))
                progressed = true
            }
        }
        return actions
    }
}
