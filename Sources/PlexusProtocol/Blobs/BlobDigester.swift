import Crypto
import Foundation
import PlexusCore

/// Hashes a blob as its bytes stream past (an upload, a file): the SHA-256 of the whole,
/// which is its id, and of each chunk, which is its manifest (PROTOCOL.md §15).
public struct BlobDigester: Sendable {
    private var whole = SHA256()
    private var chunk = SHA256()
    private var inChunk = 0
    private var digests = Data()
    public private(set) var size: UInt64 = 0
    public let chunkSize: UInt32

    public init(chunkSize: UInt32 = BlobManifest.standardChunkSize) {
        self.chunkSize = chunkSize
    }

    /// Adds the next bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        whole.update(bufferPointer: bytes)
        size += UInt64(bytes.count)
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(rest.count, Int(chunkSize) - inChunk)
            chunk.update(bufferPointer: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
            inChunk += take
            rest = rest.dropFirst(take)
            if inChunk == Int(chunkSize) {
                digests.append(contentsOf: chunk.finalize())
                chunk = SHA256()
                inChunk = 0
            }
        }
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The id and manifest of everything added.
    public func finish() -> (id: BlobID, manifest: BlobManifest) {
        var digests = self.digests
        if inChunk > 0 { digests.append(contentsOf: chunk.finalize()) }
        return (BlobID(digest: whole.finalize()), BlobManifest(hashed: size, chunkSize: chunkSize, digests: digests))
    }

    /// Hashes a file, reading it in 1 MiB pieces.
    public static func digest(file: URL, chunkSize: UInt32 = BlobManifest.standardChunkSize) throws -> (id: BlobID, manifest: BlobManifest) {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var digester = BlobDigester(chunkSize: chunkSize)
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty {
            digester.update(piece)
        }
        return digester.finish()
    }
}
