import Foundation
import Logging
import Metrics
import PlexusCore
import PlexusNet
import PlexusProtocol
import PlexusStore

/// Blobs on the mesh (DESIGN §14, PROTOCOL.md §15): serves the blobs held here to peers
/// that ask, chunk by chunk (at `blobs.serve_rate` at most), and fetches blobs from peers:
/// a `BlobTransfer` per blob decides what to ask whom, this actor sends the requests,
/// writes verified chunks into a partial file (which a later fetch resumes from), checks
/// the whole blob against its id and adopts it into the store.
actor BlobExchange {
    /// A fetch in progress, shared by everyone waiting for the blob.
    private struct Fetch {
        var transfer: BlobTransfer
        var file: FileHandle?
        var waiters: [CheckedContinuation<Result<StoredBlob, PlexusError>, Never>] = []
        /// Peers asked for the manifest, and when last.
        var asked: [AgentID: Duration] = [:]
        /// Peers that answered they do not have it.
        var lacking: Set<AgentID> = []
        /// Sources beyond the connected peers were looked for (referencing authors, the DHT).
        var discovered = false
        var hints: [AgentID]
        var deadline: ContinuousClock.Instant
        var pin: Bool
        var finishing = false
    }

    /// Sources asked at once for a manifest, at most.
    static let maxAsked = 32
    /// Blob chunks served at once, at most; more requests are answered `missing` (busy).
    static let maxServing = 64

    private let store: BlobStore
    private let mesh: ConnectionManager
    /// Finds and connects sources beyond the connected peers (the node's directory, the
    /// entries that reference the blob, the DHT); returns the agents now connected.
    private let discover: @Sendable (BlobID, [AgentID]) async -> [AgentID]
    /// Tells the DHT this node holds a blob.
    private let provide: @Sendable (BlobID) async -> Void
    private let settings: BlobSettings
    private let logger: Logger
    private let started = ContinuousClock.now
    private var fetches: [BlobID: Fetch] = [:]
    private var serving = 0
    /// Serve-rate bucket: when the bytes sent so far may all have gone out.
    private var serveFreeAt = ContinuousClock.now

    private let fetchedBytes = Counter(label: "plexus_blob_bytes_fetched_total")
    private let servedBytes = Counter(label: "plexus_blob_bytes_served_total")
    private let refusedChunks = Counter(label: "plexus_blob_chunks_refused_total")
    private let storedBytes = Gauge(label: "plexus_blob_bytes_stored")

    init(
        store: BlobStore, mesh: ConnectionManager, settings: BlobSettings, logger: Logger,
        discover: @escaping @Sendable (BlobID, [AgentID]) async -> [AgentID], provide: @escaping @Sendable (BlobID) async -> Void
    ) {
        self.store = store
        self.mesh = mesh
        self.discover = discover
        self.provide = provide
        self.settings = settings
        self.logger = logger
    }

    private var now: Duration { ContinuousClock.now - started }

    // MARK: - Running

    /// Answers and consumes blob frames and follows peers going away, until cancelled;
    /// drives timeouts twice a second.
    func run(_ inbound: MeshEventStream) async {
        await updateStoredGauge()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in inbound { await self.handle(event) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    await self.tick()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func handle(_ event: MeshEvent) async {
        switch event {
        case .peerDown(let peer):
            for id in Array(fetches.keys) {
                guard var fetch = fetches[id] else { continue }
                let actions = fetch.transfer.sourceGone(peer, now: now)
                fetch.asked[peer] = nil
                fetches[id] = fetch
                await execute(actions, for: id)
            }
        case .peerUp:
            break
        case .frame(let peer, let frame):
            guard case .blob(let message)? = frame.kind, let id = BlobID(bytes: message.id) else { return }
            switch message.kind {
            case .query: await answerQuery(id, from: peer)
            case .get(let index): await serve(id, index: Int(index), to: peer)
            case .manifest(let manifest): await manifestArrived(manifest, id: id, from: peer)
            case .chunk(let chunk): await chunkArrived(chunk, id: id, from: peer)
            case .missing: await sourceMissing(id, peer: peer)
            case nil: break
            }
        }
    }

    // MARK: - Serving

    private func answerQuery(_ id: BlobID, from peer: AgentID) async {
        let reply: Plexus_Blob
        if let blob = try? await store.blob(id) {
            reply = Self.message(id) {
                $0.manifest = Plexus_BlobManifest.with {
                    $0.size = blob.size
                    $0.chunkSize = blob.manifest.chunkSize
                    $0.chunks = blob.manifest.digests
                }
            }
        } else {
            reply = Self.message(id) { $0.missing = "not held" }
        }
        _ = await mesh.sendWaiting([Plexus_Frame.with { $0.blob = reply }], to: peer)
    }

    /// Sends chunk `index` of a blob held here, after the serve-rate bucket allows it.
    private func serve(_ id: BlobID, index: Int, to peer: AgentID) async {
        guard serving < Self.maxServing, let blob = try? await store.blob(id),
              let manifest = BlobManifest(size: blob.size, chunkSize: blob.manifest.chunkSize, digests: blob.manifest.digests, maxSize: .max),
              index < manifest.chunkCount
        else {
            let reason = serving >= Self.maxServing ? "busy" : "not held"
            _ = mesh.send([Plexus_Frame.with { $0.blob = Self.message(id) { $0.missing = reason } }], to: peer)
            return
        }
        serving += 1
        let length = manifest.length(of: index)
        var delay = Duration.zero
        if settings.serveRateBytes > 0 {
            let start = max(serveFreeAt, ContinuousClock.now)
            serveFreeAt = start + .seconds(Double(length) / Double(settings.serveRateBytes))
            delay = start - ContinuousClock.now
        }
        let file = store.file(of: id)
        let offset = manifest.offset(of: index)
        let mesh = self.mesh
        let counter = servedBytes
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            let frame: Plexus_Frame
            do {
                let handle = try FileHandle(forReadingFrom: file)
                defer { try? handle.close() }
                try handle.seek(toOffset: offset)
                let data = try handle.read(upToCount: length) ?? Data()
                frame = Plexus_Frame.with {
                    $0.blob = Self.message(id) {
                        $0.chunk = Plexus_BlobChunk.with {
                            $0.index = UInt32(index)
                            $0.data = data
                        }
                    }
                }
                counter.increment(by: data.count)
            } catch {
                frame = Plexus_Frame.with { $0.blob = Self.message(id) { $0.missing = "cannot read it" } }
            }
            _ = await mesh.sendWaiting([frame], to: peer, patience: .seconds(10))
            await self.servedOne()
        }
    }

    private func servedOne() { serving -= 1 }

    // MARK: - Fetching

    /// The blob, fetched from peers unless held: first from `hints` (peers that referenced
    /// it), then from every connected peer, several at once, until `timeout`.
    func fetch(_ id: BlobID, hints: [AgentID], timeout: Duration, pin: Bool) async throws(PlexusError) -> StoredBlob {
        if let held = try await store.blob(id) {
            if pin, !held.pinned { _ = try await store.setPinned(id, true) } else { try await store.touch(id) }
            return try await store.blob(id) ?? held
        }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<StoredBlob, PlexusError>, Never>) in
            if var fetch = fetches[id] {
                fetch.waiters.append(continuation)
                fetch.pin = fetch.pin || pin
                fetch.deadline = max(fetch.deadline, ContinuousClock.now + timeout)
                fetch.hints += hints.filter { !fetch.hints.contains($0) }
                fetches[id] = fetch
            } else {
                fetches[id] = Fetch(
                    transfer: BlobTransfer(id: Data(id.bytes)), file: nil, waiters: [continuation], hints: hints,
                    deadline: ContinuousClock.now + timeout, pin: pin)
            }
            askForManifests(id)
        }
        return try result.get()
    }

    /// How far the fetches in progress are: bytes verified of bytes, and sources.
    func progress() -> [BlobID: (fetched: UInt64, size: UInt64?, sources: Int)] {
        fetches.mapValues { ($0.transfer.fetchedBytes, $0.transfer.manifest?.size, $0.transfer.sourceCount) }
    }

    /// Asks the hinted and the connected peers not asked within the last 2 s for the manifest.
    private func askForManifests(_ id: BlobID) {
        guard var fetch = fetches[id], !fetch.finishing else { return }
        let connected = Set(mesh.connectedPeers())
        var candidates = fetch.hints.filter { connected.contains($0) }
        candidates += connected.subtracting(candidates).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        candidates.removeAll { fetch.transfer.refused.contains($0) }
        if fetch.transfer.manifest == nil, candidates.allSatisfy({ fetch.lacking.contains($0) }) {
            if !fetch.discovered {
                // Nobody connected has it: look further once (authors of entries that
                // reference it, agents the DHT names as holders), dialling them.
                fetch.discovered = true
                fetches[id] = fetch
                let hints = fetch.hints
                let discover = self.discover
                Task {
                    let found = await discover(id, hints)
                    await self.discovered(id, found)
                }
                return
            }
            // Nobody reachable has it: say so at once rather than wait (a transfer under
            // way waits for its sources to come back instead).
            fetches[id] = nil
            finish(fetch, .failure(PlexusError(
                .notFound, candidates.isEmpty ? "no peer is connected to fetch blob \(id.hex.prefix(16)) from"
                    : "none of the \(candidates.count) connected peers has blob \(id.hex.prefix(16))")))
            return
        }
        let current = now
        var sent = 0
        for peer in candidates where (fetch.transfer.manifest != nil || !fetch.lacking.contains(peer)) && sent < Self.maxAsked {
            if let last = fetch.asked[peer], current - last < .seconds(2) { continue }
            fetch.asked[peer] = current
            sent += 1
            _ = mesh.send([Plexus_Frame.with { $0.blob = Self.message(id) { $0.query = true } }], to: peer)
        }
        fetches[id] = fetch
    }

    private func discovered(_ id: BlobID, _ found: [AgentID]) {
        guard var fetch = fetches[id] else { return }
        fetch.hints += found.filter { !fetch.hints.contains($0) }
        fetches[id] = fetch
        askForManifests(id)
    }

    private func manifestArrived(_ message: Plexus_BlobManifest, id: BlobID, from peer: AgentID) async {
        guard var fetch = fetches[id], fetch.asked[peer] != nil, !fetch.finishing else { return }
        guard let manifest = BlobManifest(
            size: message.size, chunkSize: message.chunkSize, digests: message.chunks, maxSize: settings.maxBlobBytes)
        else {
            logger.warning("blob manifest refused", metadata: ["blob": "\(id.hex.prefix(16))", "peer": "\(peer.short)", "max": "\(settings.maxBlobBytes)"])
            if fetch.transfer.manifest == nil, message.size > settings.maxBlobBytes {
                fetches[id] = nil
                finish(fetch, .failure(PlexusError(.tooLarge, "blob \(id.hex.prefix(16)) is \(message.size) bytes; this node takes at most \(settings.maxBlobBytes) (blobs.max_blob_size)")))
            }
            return
        }
        var present: Set<Int> = []
        if fetch.transfer.manifest == nil {
            if let usage = try? await store.usage(), usage.bytes + manifest.size > settings.quotaBytes {
                fetches[id] = nil
                finish(fetch, .failure(PlexusError(.resourceExhausted, "blob \(id.hex.prefix(16)) (\(manifest.size) bytes) does not fit the blob quota (\(usage.bytes) of \(settings.quotaBytes) bytes used)")))
                return
            }
            do {
                let (handle, verified) = try Self.openPartial(store.partialFile(of: id), manifest: manifest)
                fetch.file = handle
                present = verified
                if !verified.isEmpty {
                    logger.info("blob fetch resumed", metadata: ["blob": "\(id.hex.prefix(16))", "chunks": "\(verified.count)/\(manifest.chunkCount)"])
                }
            } catch {
                fetches[id] = nil
                finish(fetch, .failure(PlexusError(.internal, "cannot write the partial blob: \(error)")))
                return
            }
        }
        let actions = fetch.transfer.manifestArrived(manifest, from: peer, present: present, now: now)
        fetches[id] = fetch
        await execute(actions, for: id)
    }

    private func chunkArrived(_ chunk: Plexus_BlobChunk, id: BlobID, from peer: AgentID) async {
        guard var fetch = fetches[id] else { return }
        let actions = fetch.transfer.chunkArrived(index: Int(chunk.index), bytes: chunk.data, from: peer, now: now)
        fetches[id] = fetch
        await execute(actions, for: id, data: chunk.data)
    }

    private func sourceMissing(_ id: BlobID, peer: AgentID) async {
        guard var fetch = fetches[id] else { return }
        if fetch.transfer.manifest == nil, fetch.asked[peer] != nil { fetch.lacking.insert(peer) }
        let actions = fetch.transfer.sourceGone(peer, now: now)
        fetches[id] = fetch
        await execute(actions, for: id)
        if fetches[id]?.transfer.manifest == nil { askForManifests(id) }
    }

    private func tick() async {
        let current = ContinuousClock.now
        for id in Array(fetches.keys) {
            guard var fetch = fetches[id], !fetch.finishing else { continue }
            if current >= fetch.deadline {
                fetches[id] = nil
                try? fetch.file?.close()
                let have = fetch.transfer.fetchedBytes
                finish(fetch, .failure(PlexusError(
                    .timeout, fetch.transfer.manifest == nil
                        ? "no connected peer has blob \(id.hex.prefix(16))"
                        : "blob \(id.hex.prefix(16)) was not complete in time (\(have) of \(fetch.transfer.manifest?.size ?? 0) bytes; a later fetch resumes)")))
                continue
            }
            let actions = fetch.transfer.tick(now: now)
            fetches[id] = fetch
            await execute(actions, for: id)
            if (fetches[id]?.transfer.sourceCount ?? 0) < 2 { askForManifests(id) }
        }
    }

    /// Carries out what the transfer decided; `data` is the chunk that arrived, if any.
    private func execute(_ actions: [BlobTransfer.Action], for id: BlobID, data: Data? = nil) async {
        for action in actions {
            switch action {
            case .request(let peer, let index):
                let frame = Plexus_Frame.with { $0.blob = Self.message(id) { $0.get = UInt32(index) } }
                if !mesh.send([frame], to: peer) {
                    // Not connected (any more): hand its chunks back.
                    guard var fetch = fetches[id] else { return }
                    let more = fetch.transfer.sourceGone(peer, now: now)
                    fetches[id] = fetch
                    await execute(more, for: id)
                }
            case .write(_, let offset):
                guard let data, let handle = fetches[id]?.file else { continue }
                do {
                    try handle.seek(toOffset: offset)
                    try handle.write(contentsOf: data)
                    fetchedBytes.increment(by: data.count)
                } catch {
                    fail(id, PlexusError(.internal, "cannot write the partial blob: \(error)"))
                    return
                }
            case .dropSource(let peer, let reason):
                refusedChunks.increment()
                logger.warning("blob source dropped", metadata: ["blob": "\(id.hex.prefix(16))", "peer": "\(peer.short)", "reason": "\(reason)"])
            case .complete:
                await complete(id)
            }
        }
    }

    /// Every chunk is written: checks the whole against the id, then adopts the file.
    private func complete(_ id: BlobID) async {
        guard var fetch = fetches[id], !fetch.finishing, let manifest = fetch.transfer.manifest else { return }
        fetch.finishing = true
        fetches[id] = fetch
        try? fetch.file?.synchronize()
        try? fetch.file?.close()
        let partial = store.partialFile(of: id)
        let chunkSize = manifest.chunkSize
        let digest = await Task.detached { try? BlobDigester.digest(file: partial, chunkSize: chunkSize) }.value
        guard var current = fetches[id] else { return }
        guard let digest, digest.id == id else {
            try? FileManager.default.removeItem(at: partial)
            let actions = current.transfer.wholeFailed()
            current.finishing = false
            current.file = nil
            current.asked = [:]
            fetches[id] = current
            await execute(actions, for: id)
            askForManifests(id)
            return
        }
        fetches[id] = nil
        do throws(PlexusError) {
            let stored = try await store.adopt(
                partial, id: id, size: manifest.size,
                manifest: BlobManifestRecord(chunkSize: manifest.chunkSize, digests: manifest.digests), pin: current.pin)
            logger.info("blob fetched", metadata: ["blob": "\(id.hex.prefix(16))", "bytes": "\(manifest.size)"])
            await updateStoredGauge()
            let provide = self.provide
            Task { await provide(id) }
            finish(current, .success(stored))
        } catch {
            finish(current, .failure(error))
        }
    }

    private func fail(_ id: BlobID, _ error: PlexusError) {
        guard let fetch = fetches.removeValue(forKey: id) else { return }
        try? fetch.file?.close()
        finish(fetch, .failure(error))
    }

    private func finish(_ fetch: Fetch, _ result: Result<StoredBlob, PlexusError>) {
        for waiter in fetch.waiters { waiter.resume(returning: result) }
    }

    func updateStoredGauge() async {
        if let usage = try? await store.usage() { storedBytes.record(Double(usage.bytes)) }
    }

    /// Opens (creating) the partial file of a fetch, sized to the blob, and finds the
    /// chunks already in it that verify: what an earlier, interrupted fetch wrote.
    private static func openPartial(_ file: URL, manifest: BlobManifest) throws -> (FileHandle, Set<Int>) {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        var present: Set<Int> = []
        if FileManager.default.fileExists(atPath: file.path) {
            let reader = try FileHandle(forReadingFrom: file)
            defer { try? reader.close() }
            for index in 0..<manifest.chunkCount {
                try reader.seek(toOffset: manifest.offset(of: index))
                guard let bytes = try reader.read(upToCount: manifest.length(of: index)) else { break }
                if manifest.verifies(bytes, at: index) { present.insert(index) }
            }
        } else {
            FileManager.default.createFile(atPath: file.path, contents: nil)
        }
        let handle = try FileHandle(forUpdating: file)
        try handle.truncate(atOffset: manifest.size)
        return (handle, present)
    }

    private static func message(_ id: BlobID, _ fill: (inout Plexus_Blob) -> Void) -> Plexus_Blob {
        var message = Plexus_Blob()
        message.id = Data(id.bytes)
        fill(&message)
        return message
    }
}
