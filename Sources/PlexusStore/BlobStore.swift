import Foundation
import GRDB
import PlexusCore

/// A blob held here, as the store records it.
public struct StoredBlob: Sendable, Equatable {
    public let id: BlobID
    public let size: UInt64
    public let manifest: BlobManifestRecord
    public let pinned: Bool
    public let addedMs: Int64
    /// Last put, fetched, served or referenced.
    public let usedMs: Int64
    /// Entries held here that reference it.
    public let references: Int
}

/// A manifest as stored: chunk size and the digests (PROTOCOL.md §15).
public struct BlobManifestRecord: Sendable, Equatable {
    public let chunkSize: UInt32
    public let digests: Data

    public init(chunkSize: UInt32, digests: Data) {
        self.chunkSize = chunkSize
        self.digests = digests
    }
}

/// Content-addressed files (DESIGN §14, PROTOCOL.md §15): complete blobs as files under
/// `blobs/` beside the database, named by their id, with a row each (size, manifest, pin,
/// last use); partial fetches under `blobs/partial/`, uploads under `blobs/tmp/`. A blob
/// stays while it is pinned, referenced by an entry held here, or used within the grace
/// period; `collect` removes the rest.
public struct BlobStore: Sendable {
    /// The directory of blob files.
    public let directory: URL
    private let pool: DatabasePool
    private let clock: @Sendable () -> Int64

    init(directory: URL, pool: DatabasePool, clock: @escaping @Sendable () -> Int64) {
        self.directory = directory
        self.pool = pool
        self.clock = clock
    }

    /// Where a complete blob's bytes are.
    public func file(of id: BlobID) -> URL { directory.appendingPathComponent(id.hex) }
    /// Where a partial fetch of a blob is kept.
    public func partialFile(of id: BlobID) -> URL { directory.appendingPathComponent("partial").appendingPathComponent(id.hex) }
    /// A new file for an upload in progress.
    public func temporaryFile() throws(PlexusError) -> URL {
        let tmp = directory.appendingPathComponent("tmp")
        do {
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        } catch {
            throw PlexusError(.internal, "cannot create \(tmp.path): \(error)")
        }
        return tmp.appendingPathComponent(UUID().uuidString)
    }

    /// Takes a complete, verified file as blob `id` (moving it into place; a blob already
    /// held keeps its file and the new one is removed). `pin` pins it.
    @discardableResult
    public func adopt(_ file: URL, id: BlobID, size: UInt64, manifest: BlobManifestRecord, pin: Bool) async throws(PlexusError) -> StoredBlob {
        let target = self.file(of: id)
        do {
            if FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.removeItem(at: file)
            } else {
                try FileManager.default.moveItem(at: file, to: target)
            }
        } catch {
            throw PlexusError(.internal, "cannot store blob \(id.hex.prefix(16)): \(error)")
        }
        let now = clock()
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO blobs (id, size, chunk_size, digests, pinned, added_ms, used_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET pinned = max(pinned, excluded.pinned), used_ms = excluded.used_ms
                    """,
                arguments: [id.bytes.asData, Int64(clamping: size), Int64(manifest.chunkSize), manifest.digests, pin, now, now])
        }
        guard let stored = try await blob(id) else { throw PlexusError(.internal, "blob \(id.hex.prefix(16)) vanished as it was stored") }
        return stored
    }

    /// One blob held here, nil when not.
    public func blob(_ id: BlobID) async throws(PlexusError) -> StoredBlob? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT b.*, (SELECT count(*) FROM blob_refs r WHERE r.blob = b.id) AS refs FROM blobs b WHERE b.id = ?",
                arguments: [id.bytes.asData]
            ).flatMap(Self.stored)
        }
    }

    /// Blobs held here, newest first, `limit` from `offset`.
    public func list(limit: Int, offset: Int) async throws(PlexusError) -> [StoredBlob] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.*, (SELECT count(*) FROM blob_refs r WHERE r.blob = b.id) AS refs FROM blobs b
                    ORDER BY b.added_ms DESC, b.id LIMIT ? OFFSET ?
                    """,
                arguments: [limit, offset]
            ).compactMap(Self.stored)
        }
    }

    /// Authors of entries held here that reference a blob, most recent first.
    public func referencingAuthors(_ id: BlobID, limit: Int) async throws(PlexusError) -> [AgentID] {
        try await read { db in
            try Data.fetchAll(
                db,
                sql: """
                    SELECT e.author FROM blob_refs r JOIN entries e ON e.cursor = r.cursor
                    WHERE r.blob = ? GROUP BY e.author ORDER BY max(e.cursor) DESC LIMIT ?
                    """,
                arguments: [id.bytes.asData, limit]
            ).compactMap { AgentID(bytes: $0) }
        }
    }

    /// Bytes and count of the blobs held.
    public func usage() async throws(PlexusError) -> (bytes: UInt64, count: Int) {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT coalesce(sum(size), 0) AS bytes, count(*) AS n FROM blobs")
            return (UInt64(max(0, row?["bytes"] ?? 0 as Int64)), row?["n"] ?? 0)
        }
    }

    /// Pins or unpins a blob held here; false when it is not held.
    public func setPinned(_ id: BlobID, _ pinned: Bool) async throws(PlexusError) -> Bool {
        let now = clock()
        return try await write { db in
            try db.execute(sql: "UPDATE blobs SET pinned = ?, used_ms = ? WHERE id = ?", arguments: [pinned, now, id.bytes.asData])
            return db.changesCount > 0
        }
    }

    /// Marks a blob used now (served, fetched, referenced by a task), so the collector
    /// keeps it for another grace period.
    public func touch(_ id: BlobID) async throws(PlexusError) {
        let now = clock()
        try await write { db in
            try db.execute(sql: "UPDATE blobs SET used_ms = ? WHERE id = ?", arguments: [now, id.bytes.asData])
        }
    }

    /// Removes a blob held here (its file and row); false when not held.
    public func remove(_ id: BlobID) async throws(PlexusError) -> Bool {
        let removed = try await write { db in
            try db.execute(sql: "DELETE FROM blobs WHERE id = ?", arguments: [id.bytes.asData])
            return db.changesCount > 0
        }
        try? FileManager.default.removeItem(at: file(of: id))
        return removed
    }

    /// Removes every blob that is not pinned, not referenced by an entry held here, and not
    /// used within `graceMs`. Returns how many blobs and bytes went.
    public func collect(graceMs: Int64) async throws(PlexusError) -> (count: Int, bytes: UInt64) {
        let cutoff = clock() - graceMs
        let doomed = try await write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, size FROM blobs b WHERE pinned = 0 AND used_ms < ?
                    AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob = b.id)
                    """,
                arguments: [cutoff])
            for row in rows { try db.execute(sql: "DELETE FROM blobs WHERE id = ?", arguments: [row["id"] as Data]) }
            return rows.compactMap { row in BlobID(bytes: row["id"] as Data).map { ($0, UInt64(max(0, row["size"] as Int64))) } }
        }
        for (id, _) in doomed { try? FileManager.default.removeItem(at: file(of: id)) }
        return (doomed.count, doomed.reduce(0) { $0 + $1.1 })
    }

    private static func stored(_ row: Row) -> StoredBlob? {
        guard let id = BlobID(bytes: row["id"] as Data) else { return nil }
        return StoredBlob(
            id: id, size: UInt64(max(0, row["size"] as Int64)),
            manifest: BlobManifestRecord(chunkSize: UInt32(clamping: row["chunk_size"] as Int64), digests: row["digests"]),
            pinned: row["pinned"], addedMs: row["added_ms"], usedMs: row["used_ms"], references: row["refs"])
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw PlexusError(.internal, "blob store read failed: \(error)")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(PlexusError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw PlexusError(.internal, "blob store write failed: \(error)")
        }
    }
}

/// Blob references in entry content (PROTOCOL.md §15): a top-level `blobs` array of
/// objects with an `id` (64 hex), e.g. `{"blobs": [{"id": "…", "size": 1234, "name": "a.pdf"}]}`.
public enum BlobReferences {
    /// Most references counted per entry.
    public static let maxPerEntry = 64

    /// The blob ids an entry's content references.
    public static func ids(inContent content: Data) -> [BlobID] {
        // Cheap check first: most entries reference no blob.
        guard content.range(of: Data("\"blobs\"".utf8)) != nil,
              let object = try? JSONSerialization.jsonObject(with: content) as? [String: Any],
              let list = object["blobs"] as? [Any]
        else { return [] }
        var ids: [BlobID] = []
        for item in list.prefix(maxPerEntry) {
            if let fields = item as? [String: Any], let text = fields["id"] as? String, let id = BlobID(text) { ids.append(id) }
        }
        return ids
    }
}
