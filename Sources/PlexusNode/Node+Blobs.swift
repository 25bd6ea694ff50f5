import Foundation
import Logging
import PlexusCore
import PlexusNet
import PlexusProtocol
import PlexusStore

/// Blobs put here (DESIGN §14): bytes streamed into a file while they are hashed, then
/// adopted under their id.
extension Node {
    /// A blob held here, or `notFound`.
    public nonisolated func heldBlob(_ id: BlobID) async throws(PlexusError) -> StoredBlob {
        guard let blob = try await store.blobs.blob(id) else { throw Self.blobNotHeld(id) }
        return blob
    }

    /// A blob held here and the file with its bytes, for reading; marks it used.
    public nonisolated func blobForReading(_ id: BlobID) async throws(PlexusError) -> (blob: StoredBlob, file: URL) {
        let blob = try await heldBlob(id)
        try await store.blobs.touch(id)
        return (blob, store.blobs.file(of: id))
    }

    /// The bytes of a blob held here, in pieces of up to 1 MiB: as stored, or opened with
    /// `group`'s key, or with the content key of market `offer` (refused when they do not open).
    public nonisolated func blobContents(
        _ id: BlobID, group: String?, offer: EntryID? = nil
    ) async throws(PlexusError) -> AsyncThrowingStream<Data, any Error> {
        let (_, file) = try await blobForReading(id)
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: file)
        } catch {
            throw PlexusError(.internal, "cannot read blob \(id.hex.prefix(16)): \(error)")
        }
        var opener: BlobCipher.Opener?
        if group != nil || offer != nil {
            let start = (try? handle.read(upToCount: 512)) ?? Data()
            guard let header = BlobCipher.Header(start) else {
                try? handle.close()
                throw PlexusError(.malformedEnvelope, "blob \(id.hex.prefix(16)) is not sealed")
            }
            do throws(PlexusError) {
                let opening = if let group { try await groups.blobOpening(group, context: header.context) } else {
                    try await groups.goodsBlobKey(offer ?? EntryID(hashing: Data()))
                }
                opener = BlobCipher.Opener(key: opening.key, header: header, domain: opening.domain)
            } catch {
                try? handle.close()
                throw error
            }
            try? handle.seek(toOffset: UInt64(header.length))
        }
        let reader = BlobReader(handle: handle, opener: opener)
        return AsyncThrowingStream(unfolding: { try await reader.next() })
    }

    static func blobNotHeld(_ id: BlobID) -> PlexusError {
        PlexusError(.notFound, "blob \(id.hex) is not held here (fetch it with plexus blob get, POST /v1/blobs/{id}/fetch)")
    }

    /// Stores the bytes `pieces` yields (`length` of them, as announced) as a blob: refused
    /// beyond `blobs.max_blob_size` or the quota before anything is written, and when the
    /// bytes end short of or run past `length`. `pin` keeps it whatever references it.
    /// With `group`, the blob is the bytes sealed under the group's current epoch key
    /// (PROTOCOL.md §15.1): only its members read them.
    public nonisolated func putBlob<Pieces: AsyncSequence>(
        _ pieces: Pieces, length: UInt64, pin: Bool, group: String? = nil
    ) async throws(PlexusError) -> StoredBlob where Pieces.Element == Data {
        var sealer: BlobCipher.Sealer?
        if let group {
            let sealing = try await groups.blobSealing(group)
            sealer = BlobCipher.Sealer(key: sealing.key, context: sealing.context, domain: sealing.domain)
        }
        return try await putBlob(pieces, length: length, pin: pin, sealer: sealer)
    }

    /// `putBlob`, sealing the bytes with `sealer` when given (PROTOCOL.md §15.1).
    nonisolated func putBlob<Pieces: AsyncSequence>(
        _ pieces: Pieces, length: UInt64, pin: Bool, sealer: BlobCipher.Sealer?
    ) async throws(PlexusError) -> StoredBlob where Pieces.Element == Data {
        var sealer = sealer
        let settings = config.blobs
        guard length <= settings.maxBlobBytes else {
            throw PlexusError(.tooLarge, "the blob is \(length) bytes; this node takes at most \(settings.maxBlobBytes) (blobs.max_blob_size)")
        }
        let usage = try await store.blobs.usage()
        guard usage.bytes + length <= settings.quotaBytes else {
            throw PlexusError(.resourceExhausted, "\(length) more bytes do not fit the blob quota (\(usage.bytes) of \(settings.quotaBytes) used)")
        }
        let file = try store.blobs.temporaryFile()
        var digester = BlobDigester()
        do {
            guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
                throw PlexusError(.internal, "cannot create \(file.path)")
            }
            let handle = try FileHandle(forWritingTo: file)
            defer { try? handle.close() }
            func write(_ bytes: Data) throws {
                digester.update(bytes)
                try handle.write(contentsOf: bytes)
            }
            if let header = sealer?.header { try write(header) }
            var received: UInt64 = 0
            for try await piece in pieces {
                received += UInt64(piece.count)
                guard received <= length else {
                    throw PlexusError(.invalidArgument, "the body is longer than its Content-Length (\(length) bytes)")
                }
                try write(sealer != nil ? try sealer!.update(piece) : piece)
            }
            guard received == length else {
                throw PlexusError(.invalidArgument, "the body ended after \(received) of \(length) bytes")
            }
            if sealer != nil { try write(try sealer!.finish()) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: file)
            if let error = error as? PlexusError { throw error }
            throw PlexusError(.internal, "cannot write the blob: \(error)")
        }
        let (id, manifest) = digester.finish()
        let stored = try await store.blobs.adopt(
            file, id: id, size: manifest.size, manifest: BlobManifestRecord(chunkSize: manifest.chunkSize, digests: manifest.digests), pin: pin)
        await blobs.updateStoredGauge()
        // Once put returns, the DHT names this node as a holder (when it has announced
        // itself): peers that are not connected find it there.
        await Self.provideBlobs([id], gossip: gossip, dht: dht, me: self.id)
        logger.info("blob stored", metadata: ["blob": "\(id.hex.prefix(16))", "bytes": "\(manifest.size)"])
        return stored
    }
}

/// Finding blob sources beyond the connected peers, and telling the DHT what is held here.
extension Node {
    /// Where a blob is stored in the DHT: the records of agents holding it.
    static func dhtKey(ofBlob id: BlobID) -> DHTKey { DHTKey(hashing: id.bytes, domain: "plexus-dht-blob:") }

    /// Agents likely to hold a blob that are not connected: those named in the request, the
    /// authors of entries held here that reference it, then the agents the DHT names as
    /// holders; each is dialled at the addresses of its directory record. Returns those
    /// connected afterwards.
    static func blobSources(
        _ id: BlobID, hints: [AgentID], me: AgentID, store: EntryStore, mesh: ConnectionManager, gossip: GossipEngine, dht: DHTService,
        nowMs: Int64, logger: Logger
    ) async -> [AgentID] {
        var candidates = hints.filter { $0 != me }
        for author in (try? await store.blobs.referencingAuthors(id, limit: 16)) ?? [] where author != me && !candidates.contains(author) {
            candidates.append(author)
        }
        let providers = await dht.find(dhtKey(ofBlob: id)).compactMap { dht.validRecord($0) }
        for record in newestPerAuthor(providers) where record.author != me && !candidates.contains(record.author) {
            candidates.append(record.author)
        }
        let connected = Set(mesh.connectedPeers())
        var reached: [AgentID] = []
        for agent in candidates.prefix(16) {
            if connected.contains(agent) {
                reached.append(agent)
                continue
            }
            var known = providers.first { $0.author == agent }.flatMap { Node.view(of: $0, nowMs: nowMs) }
            if known == nil { known = try? await Node.agent(agent, in: gossip, dht: dht, nowMs: nowMs) }
            if known == nil { logger.info("blob holder has no record here", metadata: ["blob": "\(id.hex.prefix(16))", "agent": "\(agent.short)"]) }
            for address in known?.record.addresses ?? [] {
                guard let target = try? HostPort.parse(address, defaultHost: "127.0.0.1"), target.host != "0.0.0.0" else { continue }
                do {
                    _ = try await mesh.connect(host: target.host, port: target.port, expectedPeer: agent)
                    reached.append(agent)
                    break
                } catch {
                    logger.info("blob holder not reachable", metadata: ["blob": "\(id.hex.prefix(16))", "agent": "\(agent.short)", "address": "\(address)", "error": "\(error)"])
                }
            }
        }
        return reached
    }

    /// Stores this agent's current record in the DHT under each blob's key, so nodes that
    /// are not connected to it can find it as a holder.
    static func provideBlobs(_ ids: [BlobID], gossip: GossipEngine, dht: DHTService, me: AgentID) async {
        guard !ids.isEmpty, let record = await gossip.record(of: me, kind: .agent) else { return }
        await dht.publish(record.encoded(), under: ids.map(dhtKey(ofBlob:)))
    }
}

/// Reads a blob file piece by piece as its reader asks (so a large blob is never held in
/// memory), opening sealed segments on the way when it is a group's.
actor BlobReader {
    private let handle: FileHandle
    private var opener: BlobCipher.Opener?
    private var done = false

    init(handle: FileHandle, opener: BlobCipher.Opener?) {
        self.handle = handle
        self.opener = opener
    }

    /// The next piece; nil at the end.
    func next() throws -> Data? {
        guard !done else { return nil }
        guard let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty else {
            done = true
            try? handle.close()
            return try opener?.finish()
        }
        guard var current = opener else { return piece }
        let plain = try current.update(piece)
        opener = current
        return plain
    }
}
