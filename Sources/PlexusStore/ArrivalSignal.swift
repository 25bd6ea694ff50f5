import PlexusCore
import Synchronization

/// Wakes readers waiting for a rising count to pass the value they saw: entries stored
/// beyond a cursor (long-polls of the feed, and the event streams built on them), or
/// records kept by gossip. The writer reports the highest cursor of every committed
/// batch; a reader then reads the store from its own cursor, so it misses nothing and sees
/// nothing twice however many entries arrived meanwhile.
public actor ArrivalSignal {
    /// Most readers waiting at once; beyond it a wait fails with `overloaded`.
    public static let maxWaiters = 4096

    /// The highest cursor stored so far.
    public private(set) var latest: Int64
    private var waiters: [Int: (after: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var nextWaiter = 0

    public init(latest: Int64) {
        self.latest = latest
    }

    public func advance(to cursor: Int64) {
        guard cursor > latest else { return }
        latest = cursor
        for (id, waiter) in waiters where waiter.after < cursor {
            waiters.removeValue(forKey: id)
            waiter.continuation.resume()
        }
    }

    /// Returns once an entry beyond `cursor` is stored, after `timeout`, or when the
    /// calling task is cancelled, whichever comes first.
    public func wait(after cursor: Int64, timeout: Duration) async throws(PlexusError) {
        guard latest <= cursor, timeout > .zero else { return }
        guard waiters.count < Self.maxWaiters else {
            throw PlexusError(.overloaded, "\(Self.maxWaiters) readers are already waiting for entries; try again shortly")
        }
        let id = nextWaiter
        nextWaiter += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters[id] = (cursor, continuation)
                Task {
                    try? await Task.sleep(for: timeout)
                    self.release(id)
                }
            }
        } onCancel: {
            Task { await self.release(id) }
        }
    }

    private func release(_ id: Int) {
        waiters.removeValue(forKey: id)?.continuation.resume()
    }
}

/// Arrival signals for entries of some topics only, by topic prefix: a reader that cares
/// about one family of topics (the private groups' `group/…`) is woken by those entries
/// alone, not by every entry the mesh brings. The prefixes are the node's own (a fixed
/// few), never taken from input.
public final class TopicArrivals: Sendable {
    private let signals = Mutex<[String: ArrivalSignal]>([:])
    private let start: Int64

    init(latest: Int64) {
        start = latest
    }

    /// The signal of entries whose topic starts with `prefix` (created on first use). Its
    /// `latest` is the highest cursor of such an entry stored since the store was opened,
    /// or the store's highest cursor then.
    public func signal(forPrefix prefix: String) -> ArrivalSignal {
        signals.withLock { signals in
            if let signal = signals[prefix] { return signal }
            let signal = ArrivalSignal(latest: start)
            signals[prefix] = signal
            return signal
        }
    }

    /// Wakes the readers of every watched prefix that one of `stored` falls under.
    func advance(_ stored: [StoredEntry]) async {
        let watched = signals.withLock { $0 }
        for (prefix, signal) in watched {
            if let newest = stored.lazy.filter({ $0.entry.topic.hasPrefix(prefix) }).map(\.cursor).max() {
                await signal.advance(to: newest)
            }
        }
    }
}
