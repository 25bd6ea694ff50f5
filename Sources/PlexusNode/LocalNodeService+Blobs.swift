import Foundation
import PlexusCore
import PlexusStore

/// Blobs (`BlobService`) of `LocalNodeService`.
extension LocalNodeService {
    public func blobs(limit: Int?, offset: Int?) async throws(PlexusError) -> BlobList {
        let limit = try PageLimit.check(limit ?? 100)
        guard (offset ?? 0) >= 0 else { throw PlexusError(.invalidArgument, "offset must not be negative") }
        let held = try await node.store.blobs.list(limit: limit, offset: offset ?? 0)
        let usage = try await node.store.blobs.usage()
        let fetching = await node.blobs.progress().map { id, progress in
            BlobFetchView(id: id, fetchedBytes: progress.fetched, size: progress.size, sources: progress.sources)
        }.sorted { $0.id < $1.id }
        return BlobList(
            blobs: held.map(Self.view), usedBytes: usage.bytes, count: usage.count, quotaBytes: node.config.blobs.quotaBytes,
            maxBlobBytes: node.config.blobs.maxBlobBytes, fetching: fetching)
    }

    public func blob(_ id: BlobID) async throws(PlexusError) -> BlobView {
        Self.view(try await node.heldBlob(id))
    }

    public func fetchBlob(_ id: BlobID, _ request: BlobFetchRequest) async throws(PlexusError) -> BlobView {
        Self.view(try await node.blobs.fetch(id, hints: request.from ?? [], timeout: try request.wait(), pin: request.pin ?? false))
    }

    public func pinBlob(_ id: BlobID, pinned: Bool) async throws(PlexusError) -> BlobView {
        guard try await node.store.blobs.setPinned(id, pinned) else { throw Node.blobNotHeld(id) }
        return Self.view(try await node.heldBlob(id))
    }

    public func removeBlob(_ id: BlobID) async throws(PlexusError) -> BlobView {
        let held = try await node.heldBlob(id)
        _ = try await node.store.blobs.remove(id)
        await node.blobs.updateStoredGauge()
        return Self.view(held)
    }

    public func putBlob(_ data: Data, pin: Bool) async throws(PlexusError) -> BlobView {
        let pieces = AsyncStream<Data> { continuation in
            continuation.yield(data)
            continuation.finish()
        }
        return Self.view(try await node.putBlob(pieces, length: UInt64(data.count), pin: pin))
    }

    public func blobBytes(_ id: BlobID, limit: Int) async throws(PlexusError) -> Data {
        let blob = try await node.heldBlob(id)
        guard blob.size <= UInt64(max(0, limit)) else {
            throw PlexusError(.tooLarge, "blob \(id.hex.prefix(16)) is \(blob.size) bytes, more than \(limit) read at once; read it over HTTP (GET /v1/blobs/{id})")
        }
        do {
            return try Data(contentsOf: node.store.blobs.file(of: id))
        } catch {
            throw PlexusError(.internal, "cannot read blob \(id.hex.prefix(16)): \(error)")
        }
    }

    public static func view(_ blob: StoredBlob) -> BlobView {
        BlobView(
            id: blob.id, size: blob.size, pinned: blob.pinned, references: blob.references, chunkSize: blob.manifest.chunkSize,
            addedMs: blob.addedMs, usedMs: blob.usedMs)
    }
}
