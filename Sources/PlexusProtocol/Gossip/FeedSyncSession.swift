import Foundation
import PlexusCore

/// Anti-entropy with one neighbour in one topic, as a sans-IO state machine (DESIGN §6,
/// PROTOCOL.md §8): as the holder, the feeds the neighbour asked for, streamed oldest
/// first in batches within the byte credit it granted; as the receiver, the credit this
/// node grants, topped up as it finishes storing batches and granted afresh when it went
/// unused for a while (a lost batch or credit message loses credit with it). The driver
/// (`GossipEngine`, AntiEntropy.swift) reads the store and sends and stores what the
/// session asks; the simulator runs two sessions over a lossy, delayed link.
public struct FeedSyncSession: Sendable {
    public struct Config: Sendable {
        /// Bytes of entries a receiver lets one neighbour have in flight in one topic.
        public var creditWindow = 4 << 20
        /// Largest batch of streamed entries, in bytes and entries.
        public var maxBatchBytes = 1 << 20
        public var maxBatchEntries = 512
        /// Most feeds queued for one neighbour; more are asked for in a later round.
        public var maxQueuedWants = 16_384
        /// Most received batches being verified and stored at once.
        public var maxBatchesInFlight = 64
        /// Credit unused this long (while nothing is being stored) is granted afresh.
        public var regrantAfter: Duration = .seconds(10)

        public init() {}
    }

    /// What the driver does for the session.
    public enum Action: Sendable, Equatable {
        /// Read the wanted feed's unexpired entries after `after` (when nil: first work out
        /// where to start with `FeedSync.streamAfter`), at most `limit`; answer `rowsRead`.
        case read(FeedSync.Want, after: UInt64?, limit: Int)
        /// Send these entries as one batch; answer `batchSent`.
        case sendBatch([Data])
        /// Grant the neighbour this many more bytes.
        case grant(Int)
    }

    /// A feed the neighbour asked for, and where streaming continues (nil until known).
    struct Queued: Sendable {
        let want: FeedSync.Want
        var after: UInt64?
    }

    /// A batch proposed to the driver, until it says whether it went out.
    struct Proposed: Sendable {
        let count: Int
        let bytes: Int
        let lastSeq: UInt64
        let completesFeed: Bool
    }

    /// What became of a batch that arrived.
    public enum BatchArrival: Sendable, Equatable {
        /// Within credit: verify and store it, then call `batchStored`.
        case accepted
        /// Beyond the credit granted: dropped, and counted against the sender.
        case overCredit
        /// Too many batches are being stored already: dropped without blame (the sender
        /// cannot know; the credit it used is granted afresh later).
        case busy
    }

    public let config: Config
    /// Tells this session apart from an earlier one with the same neighbour and topic (a
    /// reconnection): the driver applies a store read or a stored batch only to the session
    /// it was made for.
    public let epoch: UInt64
    /// The counters `plexus sync` shows.
    public private(set) var view: SyncView
    private var wants: [Queued] = []
    private var next = 0
    private var queued: Set<AgentID> = []
    /// A read or a send is under way (one at a time).
    private var busy = false
    private var proposed: Proposed?
    /// Bytes of received batches still being verified and stored, and how many batches.
    private var processingBytes = 0
    private var batchesInFlight = 0
    /// When the neighbour last streamed to us or was granted credit.
    private var lastStreamed: Duration
    /// Bytes accepted beyond the credit after a re-grant: batches the neighbour had already
    /// sent on the credit the re-grant replaced (at most one window).
    private var regrantGrace = 0
    /// Re-grants since a batch last arrived: after two with nothing arriving the neighbour
    /// has nothing more for us, and credit stops being sent until we ask for feeds again.
    private var idleRegrants = 0

    public init(peer: AgentID, topic: String, config: Config = Config(), epoch: UInt64 = 0, now: Duration) {
        self.config = config
        self.epoch = epoch
        view = SyncView(peer: peer, topic: topic)
        lastStreamed = now
    }

    /// Feeds still to stream to the neighbour.
    public var pending: Int { wants.count - next }

    // MARK: - Holder side

    /// The neighbour asked for feeds. Returns false when the queue is full (the rest are
    /// asked for again next round).
    public mutating func receiveWants(_ list: [FeedSync.Want]) -> (accepted: Bool, actions: [Action]) {
        var accepted = true
        for want in list {
            guard pending < config.maxQueuedWants else {
                accepted = false
                break
            }
            if queued.insert(want.author).inserted { wants.append(Queued(want: want, after: nil)) }
        }
        view.sending = pending
        return (accepted, pump())
    }

    /// The neighbour granted credit (capped at the window: never more than one window in
    /// flight).
    public mutating func receiveCredit(_ bytes: Int) -> [Action] {
        view.creditAvailable = min(view.creditAvailable + max(0, bytes), config.creditWindow)
        return pump()
    }

    /// The rows the driver read for the front want: streaming continues after `after`.
    public mutating func rowsRead(after: UInt64, rows: [(seq: UInt64, encoded: Data)]) -> [Action] {
        busy = false
        guard next < wants.count else { return [] }
        wants[next].after = after
        if rows.isEmpty {
            popFront()
            return pump()
        }
        var batch: [Data] = []
        var bytes = 0
        for row in rows {
            if bytes + row.encoded.count > min(config.maxBatchBytes, view.creditAvailable) { break }
            batch.append(row.encoded)
            bytes += row.encoded.count
        }
        guard !batch.isEmpty else { return [] }  // the next entry exceeds the credit left: wait for more
        busy = true
        proposed = Proposed(
            count: batch.count, bytes: bytes, lastSeq: rows[batch.count - 1].seq,
            completesFeed: batch.count == rows.count && rows.count < config.maxBatchEntries)
        return [.sendBatch(batch)]
    }

    /// Whether the proposed batch went out (false: the connection would not take it; the
    /// next tick tries again).
    public mutating func batchSent(_ sent: Bool) -> [Action] {
        busy = false
        guard let batch = proposed else { return [] }
        proposed = nil
        guard sent else { return [] }
        view.creditAvailable -= batch.bytes
        view.entriesSent += batch.count
        if batch.completesFeed {
            popFront()
        } else if next < wants.count {
            wants[next].after = batch.lastSeq
        }
        return pump()
    }

    /// Reading the store for the front want failed: the next tick tries again.
    public mutating func readFailed() {
        busy = false
    }

    /// Periodic work: resumes streaming that stalled, and grants credit afresh when it went
    /// unused for `regrantAfter` while we still expect feeds (a lost batch or credit message
    /// loses credit with it).
    public mutating func tick(now: Duration) -> [Action] {
        var actions = pump()
        if view.creditGranted > 0, processingBytes == 0, idleRegrants < 2, now - lastStreamed > config.regrantAfter {
            idleRegrants += 1
            regrantGrace = config.creditWindow
            view.creditGranted = 0
            actions += grantCredit(now: now)
        }
        return actions
    }

    private mutating func pump() -> [Action] {
        guard !busy, view.creditAvailable > 0, next < wants.count else { return [] }
        busy = true
        return [.read(wants[next].want, after: wants[next].after, limit: config.maxBatchEntries)]
    }

    private mutating func popFront() {
        guard next < wants.count else { return }
        queued.remove(wants[next].want.author)
        next += 1
        if next >= 1024 && next * 2 >= wants.count {
            wants.removeFirst(next)
            next = 0
        }
        view.sending = pending
    }

    // MARK: - Receiver side

    /// This node asked the neighbour for `count` feeds: it gets credit to stream them.
    public mutating func wantsSent(_ count: Int, now: Duration) -> [Action] {
        view.requested = count
        view.wantsSent += count
        idleRegrants = 0
        return grantCredit(now: now)
    }

    /// A reconciliation round with the neighbour opened (this node sent or received its
    /// first message).
    public mutating func roundOpened(atMs wallMs: Int64) {
        view.rounds += 1
        view.lastRoundMs = wallMs
    }

    /// A batch of `bytes` arrived.
    public mutating func batchArrived(bytes: Int, now: Duration) -> BatchArrival {
        guard batchesInFlight < config.maxBatchesInFlight else { return .busy }
        if bytes <= view.creditGranted {
            view.creditGranted -= bytes
        } else if bytes <= regrantGrace {
            regrantGrace -= bytes
        } else {
            return .overCredit
        }
        processingBytes += bytes
        batchesInFlight += 1
        lastStreamed = now
        idleRegrants = 0
        return .accepted
    }

    /// An accepted batch was verified and stored (`stored` of its entries kept).
    public mutating func batchStored(bytes: Int, stored: Int, now: Duration) -> [Action] {
        processingBytes = max(0, processingBytes - bytes)
        batchesInFlight = max(0, batchesInFlight - 1)
        view.entriesReceived += stored
        return grantCredit(now: now)
    }

    /// Tops the neighbour's credit up to the window, counting bytes still being stored,
    /// once a quarter of the window has been used (so credit messages stay few).
    private mutating func grantCredit(now: Duration) -> [Action] {
        let grant = config.creditWindow - view.creditGranted - processingBytes
        guard grant >= config.creditWindow / 4 else { return [] }
        view.creditGranted += grant
        lastStreamed = now
        return [.grant(grant)]
    }
}
