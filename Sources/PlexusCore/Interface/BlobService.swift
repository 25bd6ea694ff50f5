import Foundation

/// Blobs (DESIGN §14, PROTOCOL.md §15): content-addressed files held here and fetched from
/// peers. Putting and reading bytes streams over HTTP (`POST /v1/blobs`, `GET /v1/blobs/{id}`);
/// these are the operations every interface shares.
public protocol BlobService: Sendable {
    /// The blobs held here, newest first, with the store's use, quota and fetches in progress.
    func blobs(limit: Int?, offset: Int?) async throws(PlexusError) -> BlobList
    /// One blob held here; `notFound` when not.
    func blob(_ id: BlobID) async throws(PlexusError) -> BlobView
    /// The blob, fetched from peers unless held (chunked, verified, resumable, several
    /// sources at once); waits up to the request's `wait_ms`.
    func fetchBlob(_ id: BlobID, _ request: BlobFetchRequest) async throws(PlexusError) -> BlobView
    /// Pins (kept whatever references it) or unpins a blob held here.
    func pinBlob(_ id: BlobID, pinned: Bool) async throws(PlexusError) -> BlobView
    /// Removes a blob held here.
    func removeBlob(_ id: BlobID) async throws(PlexusError) -> BlobView
    /// Stores bytes in memory as a blob (small ones: tools, tests; files stream over HTTP).
    func putBlob(_ data: Data, pin: Bool) async throws(PlexusError) -> BlobView
    /// The bytes of a blob held here, in memory (`tooLarge` beyond `limit`).
    func blobBytes(_ id: BlobID, limit: Int) async throws(PlexusError) -> Data
}

/// A blob held here.
public struct BlobView: Codable, Sendable, Equatable {
    public var id: BlobID
    public var size: UInt64
    /// Kept whatever references it.
    public var pinned: Bool
    /// Entries held here that reference it (`{"blobs": [{"id": …}]}` in their content).
    public var references: Int
    public var chunkSize: UInt32
    public var addedMs: Int64
    /// Last put, fetched, served or used by a task.
    public var usedMs: Int64

    public init(id: BlobID, size: UInt64, pinned: Bool, references: Int, chunkSize: UInt32, addedMs: Int64, usedMs: Int64) {
        self.id = id
        self.size = size
        self.pinned = pinned
        self.references = references
        self.chunkSize = chunkSize
        self.addedMs = addedMs
        self.usedMs = usedMs
    }

    enum CodingKeys: String, CodingKey {
        case id, size, pinned, references
        case chunkSize = "chunk_size", addedMs = "added_ms", usedMs = "used_ms"
    }
}

/// A fetch in progress.
public struct BlobFetchView: Codable, Sendable, Equatable {
    public var id: BlobID
    /// Bytes verified so far (also those resumed from an earlier, interrupted fetch).
    public var fetchedBytes: UInt64
    /// Known once a source sent the manifest.
    public var size: UInt64?
    public var sources: Int

    public init(id: BlobID, fetchedBytes: UInt64, size: UInt64?, sources: Int) {
        self.id = id
        self.fetchedBytes = fetchedBytes
        self.size = size
        self.sources = sources
    }

    enum CodingKeys: String, CodingKey {
        case id, size, sources
        case fetchedBytes = "fetched_bytes"
    }
}

/// The blobs held here and the store's use.
public struct BlobList: Codable, Sendable, Equatable {
    public var blobs: [BlobView]
    public var usedBytes: UInt64
    public var count: Int
    public var quotaBytes: UInt64
    public var maxBlobBytes: UInt64
    public var fetching: [BlobFetchView]

    public init(blobs: [BlobView], usedBytes: UInt64, count: Int, quotaBytes: UInt64, maxBlobBytes: UInt64, fetching: [BlobFetchView]) {
        self.blobs = blobs
        self.usedBytes = usedBytes
        self.count = count
        self.quotaBytes = quotaBytes
        self.maxBlobBytes = maxBlobBytes
        self.fetching = fetching
    }

    enum CodingKeys: String, CodingKey {
        case blobs, count, fetching
        case usedBytes = "used_bytes", quotaBytes = "quota_bytes", maxBlobBytes = "max_blob_bytes"
    }
}

/// The body of `POST /v1/blobs/{id}/fetch`.
public struct BlobFetchRequest: Codable, Sendable, Equatable {
    /// Peers to ask first (those that referenced the blob); every connected peer is asked too.
    public var from: [AgentID]?
    /// How long to wait for the whole blob (default 60000, at most 3600000 ms).
    public var waitMs: Int?
    /// Pin it once here (default false: kept while referenced or used recently).
    public var pin: Bool?

    public static let defaultWaitMs = 60_000
    public static let maxWaitMs = 3_600_000

    public init(from: [AgentID]? = nil, waitMs: Int? = nil, pin: Bool? = nil) {
        self.from = from
        self.waitMs = waitMs
        self.pin = pin
    }

    /// How long to wait, checked.
    public func wait() throws(PlexusError) -> Duration {
        let ms = waitMs ?? Self.defaultWaitMs
        guard (1...Self.maxWaitMs).contains(ms) else {
            throw PlexusError(.invalidArgument, "wait_ms must be from 1 to \(Self.maxWaitMs)")
        }
        guard (from?.count ?? 0) <= 64 else { throw PlexusError(.invalidArgument, "name at most 64 peers in 'from'") }
        return .milliseconds(ms)
    }

    enum CodingKeys: String, CodingKey {
        case from, pin
        case waitMs = "wait_ms"
    }
}
