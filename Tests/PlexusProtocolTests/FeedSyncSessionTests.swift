import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// Anti-entropy streaming (`FeedSyncSession`) between a holder and a receiver over a
/// simulated link with delay and loss: wants, batches within credit, credit top-ups and
/// re-grants after loss. The receiver ends up with every entry, never more than a window
/// of bytes is in flight, and once it holds everything no want and no batch flows.
@Suite struct FeedSyncSessionTests {
    /// What travels between the two.
    enum Message {
        case wants([FeedSync.Want])
        case batch([Data])
        case credit(Int)
    }

    struct Link {
        var random: GossipRandom
        let loss: Double
        var queue: [(at: Duration, toHolder: Bool, message: Message)] = []

        /// Batches and credit may be lost; wants travel like any gossip message and are
        /// asked again next round if they do not arrive, so they are kept here.
        mutating func send(_ message: Message, toHolder: Bool, now: Duration) {
            if case .wants = message {} else if Double.random(in: 0..<1, using: &random) < loss { return }
            queue.append((now + .milliseconds(Int.random(in: 5...40, using: &random)), toHolder, message))
            queue.sort { $0.at < $1.at }
        }
    }

    @Test(arguments: [0.0, 0.2])
    func aReceiverCatchesUpOverALossyLinkAndThenSyncGoesQuiet(loss: Double) {
        var random = GossipRandom(seed: 7)
        let authors = (0..<5).map { _ in AgentKey().id }
        // The holder's feeds: seq -> an encoded entry of 100 to 2,000 bytes.
        var held: [AgentID: [UInt64: Data]] = [:]
        for author in authors {
            for seq in UInt64(1)...200 { held[author, default: [:]][seq] = Data(count: Int.random(in: 100...2_000, using: &random)) }
        }
        var received: [AgentID: Set<UInt64>] = [:]
        var config = FeedSyncSession.Config()
        config.creditWindow = 64 << 10
        config.maxBatchBytes = 16 << 10
        config.maxBatchEntries = 64
        config.regrantAfter = .milliseconds(500)
        let holderID = AgentKey().id
        let receiverID = AgentKey().id
        var holder = FeedSyncSession(peer: receiverID, topic: "t", config: config, now: .zero)
        var receiver = FeedSyncSession(peer: holderID, topic: "t", config: config, now: .zero)
        var link = Link(random: GossipRandom(seed: 11), loss: loss)
        var now = Duration.zero
        var inFlightBytes = 0
        var maxInFlight = 0
        var refused = 0
        var quietRounds = 0
        var lastTraffic = (wants: 0, sent: 0)

        // The holder's driver: reads the model store, sends what the session asks.
        func runHolder(_ actions: [FeedSyncSession.Action]) {
            var pending = actions
            while !pending.isEmpty {
                let action = pending.removeFirst()
                switch action {
                case .read(let want, let after, let limit):
                    let feed = held[want.author] ?? [:]
                    let offered = UInt64(feed.keys.filter { $0 >= want.from && $0 <= want.seq }.count)
                    let start = after ?? FeedSync.streamAfter(want, offeredInRange: offered)
                    let rows = feed.keys.filter { $0 > start }.sorted().prefix(limit).map { (seq: $0, encoded: feed[$0]!) }
                    pending += holder.rowsRead(after: start, rows: Array(rows))
                case .sendBatch(let entries):
                    // The model encodes the author and seq in the first bytes of each entry.
                    inFlightBytes += entries.reduce(0) { $0 + $1.count }
                    maxInFlight = max(maxInFlight, inFlightBytes)
                    link.send(.batch(entries), toHolder: false, now: now)
                    pending += holder.batchSent(true)
                case .grant:
                    Issue.record("the holder does not grant here")
                }
            }
        }
        func runReceiver(_ actions: [FeedSyncSession.Action]) {
            for action in actions {
                if case .grant(let bytes) = action { link.send(.credit(bytes), toHolder: true, now: now) }
            }
        }
        // Entries carry their author and seq so the receiver can file them.
        for author in authors {
            for (seq, data) in held[author]! {
                var tagged = Data(author.bytes)
                withUnsafeBytes(of: seq.bigEndian) { tagged.append(contentsOf: $0) }
                tagged.append(data.dropFirst(min(data.count, 40)))
                held[author]![seq] = tagged
            }
        }

        let end = Duration.seconds(60)
        var nextRound = Duration.zero
        var nextTick = Duration.zero
        while now < end {
            if now >= nextRound {
                nextRound = now + .milliseconds(1_000)
                // A reconciliation round: the receiver asks for what it lacks (FeedSync rules).
                var wants: [FeedSync.Want] = []
                for author in authors {
                    let have = received[author] ?? []
                    let head = HeadsReconciliation.Head(author: author, seq: 200, count: 200, from: 1)
                    let maxSeq = have.max() ?? 0
                    let range = FeedSync.measuredRange(of: head, maxAccounted: maxSeq)
                    let count = UInt64(range.map { r in have.filter { r.contains($0) }.count } ?? 0)
                    if let want = FeedSync.want(for: head, accounting: .init(maxSeq: maxSeq, countInRange: count)) { wants.append(want) }
                }
                let traffic = (receiver.view.wantsSent + wants.count, holder.view.entriesSent)
                if wants.isEmpty && traffic == lastTraffic { quietRounds += 1 } else { quietRounds = 0 }
                lastTraffic = traffic
                if !wants.isEmpty {
                    runReceiver(receiver.wantsSent(wants.count, now: now))
                    link.send(.wants(wants), toHolder: true, now: now)
                }
                if quietRounds >= 3 { break }
            }
            if now >= nextTick {
                nextTick = now + .milliseconds(25)
                runHolder(holder.tick(now: now))
                runReceiver(receiver.tick(now: now))
            }
            // Deliver what is due.
            while let first = link.queue.first, first.at <= now {
                link.queue.removeFirst()
                switch first.message {
                case .wants(let wants):
                    runHolder(holder.receiveWants(wants).actions)
                case .credit(let bytes):
                    runHolder(holder.receiveCredit(bytes))
                case .batch(let entries):
                    let bytes = entries.reduce(0) { $0 + $1.count }
                    inFlightBytes -= bytes
                    guard receiver.batchArrived(bytes: bytes, now: now) == .accepted else {
                        refused += 1
                        continue
                    }
                    for entry in entries {
                        let author = AgentID(bytes: entry.prefix(32))!
                        let seq = entry.dropFirst(32).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                        received[author, default: []].insert(seq)
                    }
                    runReceiver(receiver.batchStored(bytes: bytes, stored: entries.count, now: now))
                }
            }
            now += .milliseconds(5)
        }
        for author in authors {
            #expect(received[author]?.count == 200, "\(author.short) caught up")
        }
        #expect(quietRounds >= 3, "sync went quiet (loss \(loss))")
        #expect(refused == 0, "an honest holder never streams beyond its credit")
        // Lost batches never return their bytes to the in-flight count here, so with loss
        // this bounds what was sent but not yet acknowledged by credit.
        if loss == 0 { #expect(maxInFlight <= config.creditWindow) }
        #expect(holder.view.entriesSent >= 1_000)
        if loss > 0 { #expect(holder.view.entriesSent > 1_000, "lost batches were sent again") }
    }
}
