/// One iterative Kademlia lookup, sans IO: asks the closest known contacts, `alpha` at a
/// time, for contacts closer to `target` (and, for a value lookup, for the value), until
/// the `k` closest contacts it has heard of have all answered or failed. The driver sends
/// the queries `nextQueries()` returns and reports each answer or failure.
public struct DHTLookup<Peer: Hashable & Sendable>: Sendable {
    public typealias Contact = RoutingTable<Peer>.Contact

    private enum State: Sendable {
        case waiting, inFlight, answered, failed
    }

    private struct Candidate: Sendable {
        let contact: Contact
        var state: State
        /// 1 for the seeds; one more than the contact that told us of it.
        let hops: Int
    }

    public let target: DHTKey
    public let k: Int
    public let alpha: Int
    /// Whether the lookup stops at the first value found.
    public let wantsValue: Bool
    private var candidates: [Candidate] = []
    private var known: Set<Peer> = []
    /// The first value found, with the hop count of the contact that had it.
    public private(set) var found: (value: [UInt8], hops: Int)?
    /// Queries sent so far.
    public private(set) var queries = 0

    /// - Parameters:
    ///   - seeds: contacts to start from (the caller's closest to `target`).
    ///   - exclude: never queried (the caller itself).
    public init(target: DHTKey, seeds: [Contact], k: Int = 20, alpha: Int = 3, wantsValue: Bool, exclude: Peer? = nil) {
        self.target = target
        self.k = k
        self.alpha = alpha
        self.wantsValue = wantsValue
        if let exclude { known.insert(exclude) }
        learn(seeds[...], hops: 1)
    }

    /// Whether there is nothing left to ask.
    public var isFinished: Bool {
        if found != nil { return true }
        return !window.contains { $0.state == .waiting || $0.state == .inFlight }
    }

    /// The `k` closest contacts that answered, closest first.
    public var closest: [Contact] {
        candidates.lazy.filter { $0.state == .answered }.prefix(k).map(\.contact)
    }

    /// How many hops away the closest answering contact was found.
    public var hops: Int {
        candidates.first { $0.state == .answered }?.hops ?? 0
    }

    /// The candidates that decide termination: the `k` closest not known to have failed.
    private var window: ArraySlice<Candidate> {
        candidates.filter { $0.state != .failed }.prefix(k)
    }

    /// Contacts to query now: the closest waiting ones, keeping at most `alpha` in flight.
    public mutating func nextQueries() -> [Contact] {
        guard found == nil else { return [] }
        var inFlight = candidates.filter { $0.state == .inFlight }.count
        var chosen: [Contact] = []
        let windowPeers = Set(window.map(\.contact.peer))
        for index in candidates.indices where inFlight < alpha {
            guard candidates[index].state == .waiting, windowPeers.contains(candidates[index].contact.peer) else { continue }
            candidates[index].state = .inFlight
            inFlight += 1
            queries += 1
            chosen.append(candidates[index].contact)
        }
        return chosen
    }

    /// `contact` answered with closer contacts (and perhaps the value).
    public mutating func answered(by contact: Contact, closer: [Contact], value: [UInt8]? = nil) {
        guard let index = candidates.firstIndex(where: { $0.contact.peer == contact.peer }) else { return }
        candidates[index].state = .answered
        let hops = candidates[index].hops
        if wantsValue, let value, found == nil {
            found = (value, hops)
        }
        // An answer counts for at most k contacts: a peer cannot flood the lookup.
        learn(closer.prefix(k), hops: hops + 1)
    }

    /// `contact` did not answer (timeout, refused, gone).
    public mutating func failed(_ contact: Contact) {
        guard let index = candidates.firstIndex(where: { $0.contact.peer == contact.peer }) else { return }
        candidates[index].state = .failed
    }

    private mutating func learn(_ contacts: ArraySlice<Contact>, hops: Int) {
        var added = false
        for contact in contacts where !known.contains(contact.peer) {
            known.insert(contact.peer)
            candidates.append(Candidate(contact: contact, state: .waiting, hops: hops))
            added = true
        }
        if added {
            let target = target
            candidates.sort { $0.contact.key.distance(to: target) < $1.contact.key.distance(to: target) }
        }
    }
}
