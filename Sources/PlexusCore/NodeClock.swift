import Foundation

/// A node's one clock (DESIGN §8: deadlines are enforced in one clock domain): the wall
/// time in milliseconds since the Unix epoch, for what is signed, shown or compared across
/// nodes (entry times, task deadlines, leases, record expiry). The node reads time only
/// through it and hands the readings to its state machines, so tests drive time by hand.
public struct NodeClock: Sendable {
    private let read: @Sendable () -> Int64

    public init(_ read: @escaping @Sendable () -> Int64) {
        self.read = read
    }

    /// Milliseconds since the Unix epoch, now.
    public var nowMs: Int64 { read() }

    /// The system's wall clock.
    public static let system = NodeClock { Int64(Date().timeIntervalSince1970 * 1000) }
}
