import NIOCore
import Synchronization

/// One subscriber's events from the mesh channel registry (`MeshChannels`): in order,
/// bounded, with one consumer.
///
/// It stands in for `AsyncStream<MeshEvent>` on the node's busiest hand-off — an event
/// loop passing a frame to the subsystem that consumes it. `AsyncStream`'s storage is
/// generic code the compiler cannot specialise from here, so every `yield` and `next`
/// looked type metadata up at run time and moved events through unspecialised buffers:
/// about 8 % of each side's CPU at 50 tasks in flight (`perf record`, 2026-12-07).
///
/// Beyond `capacity` events waiting, further ones are dropped (their senders repair or
/// time out). The stream ends when `finish` is called or when the consuming task is
/// cancelled while it waits; events still buffered are read before the end.
public final class MeshEventStream: AsyncSequence, Sendable {
    public typealias Element = MeshEvent
    public typealias Failure = Never

    private struct State: ~Copyable {
        var buffer = CircularBuffer<MeshEvent>()
        var consumer: UnsafeContinuation<MeshEvent?, Never>?
        var finished = false
    }

    private let state = Mutex(State())
    /// Most events waiting to be read.
    public let capacity: Int

    /// What `yield` did with an event.
    public enum YieldResult: Sendable, Equatable {
        /// Handed to the waiting consumer or buffered.
        case enqueued
        /// Dropped: `capacity` events were already waiting.
        case dropped
        /// Dropped: the stream has ended.
        case terminated
    }

    /// A stream holding at most `capacity` unread events (at least one).
    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
    }

    /// Adds an event; never waits. Safe from any thread.
    @discardableResult
    public func yield(_ event: MeshEvent) -> YieldResult {
        var result = YieldResult.enqueued
        let consumer = state.withLock { state -> UnsafeContinuation<MeshEvent?, Never>? in
            if state.finished {
                result = .terminated
                return nil
            }
            if let consumer = state.consumer {
                state.consumer = nil
                return consumer
            }
            if state.buffer.count < capacity {
                state.buffer.append(event)
            } else {
                result = .dropped
            }
            return nil
        }
        consumer?.resume(returning: event)
        return result
    }

    /// Ends the stream: the consumer reads what is buffered, then nil.
    public func finish() {
        let consumer = state.withLock { state -> UnsafeContinuation<MeshEvent?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: nil)
    }

    /// What a reader finds: an event, the end, or nothing yet.
    private enum Step {
        case event(MeshEvent)
        case end
        case wait
    }

    private static func take(from state: inout State) -> Step {
        if let event = state.buffer.popFirst() { return .event(event) }
        return state.finished ? .end : .wait
    }

    /// The next event, waiting for one; nil once the stream has ended.
    fileprivate func next(isolation actor: isolated (any Actor)?) async -> MeshEvent? {
        switch state.withLock({ Self.take(from: &$0) }) {
        case .event(let event): return event
        case .end: return nil
        case .wait: break
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<MeshEvent?, Never>) in
                // Again under the lock that `yield` takes: nothing arrives in between unseen.
                let step = state.withLock { state -> Step in
                    let step = Self.take(from: &state)
                    if case .wait = step { state.consumer = continuation }
                    return step
                }
                switch step {
                case .event(let event): continuation.resume(returning: event)
                case .end: continuation.resume(returning: nil)
                case .wait: break
                }
            }
        } onCancel: {
            // As with AsyncStream: the consumer's cancellation ends the stream.
            finish()
        }
    }

    /// Reads the stream; there is one reader.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: MeshEventStream

        public mutating func next() async -> MeshEvent? {
            await stream.next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> MeshEvent? {
            await stream.next(isolation: actor)
        }
    }

    /// The stream's reader.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }
}
