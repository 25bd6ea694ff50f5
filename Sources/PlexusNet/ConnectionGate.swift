import Synchronization

/// Admission control for connections: a total cap and a per-IP cap, checked when a socket
/// is accepted or dialled, before any handshake work is spent on it.
final class ConnectionGate: Sendable {
    private struct State {
        var total = 0
        var perIP: [String: Int] = [:]
    }

    private let state = Mutex(State())
    let maxTotal: Int
    let maxPerIP: Int

    init(maxTotal: Int, maxPerIP: Int) {
        self.maxTotal = maxTotal
        self.maxPerIP = maxPerIP
    }

    /// Takes a slot for `ip`; false when a cap is reached.
    func admit(ip: String) -> Bool {
        state.withLock { state in
            guard state.total < maxTotal, state.perIP[ip, default: 0] < maxPerIP else { return false }
            state.total += 1
            state.perIP[ip, default: 0] += 1
            return true
        }
    }

    /// Gives back the slot of a closed connection.
    func release(ip: String) {
        state.withLock { state in
            state.total -= 1
            let remaining = state.perIP[ip, default: 1] - 1
            state.perIP[ip] = remaining > 0 ? remaining : nil
        }
    }

    var openCount: Int { state.withLock { $0.total } }
}
