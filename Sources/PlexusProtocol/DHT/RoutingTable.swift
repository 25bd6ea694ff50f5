/// A Kademlia routing table: contacts in 256 buckets by the length of the prefix they share
/// with this node's key, at most `k` per bucket, least recently seen first. A full bucket
/// keeps its contacts (long-lived nodes are the likeliest to stay) and holds newcomers in a
/// replacement cache of the same size, which refills the bucket when a contact fails.
public struct RoutingTable<Peer: Hashable & Sendable>: Sendable {
    /// A node as the table knows it.
    public struct Contact: Hashable, Sendable {
        public let key: DHTKey
        public let peer: Peer

        public init(key: DHTKey, peer: Peer) {
            self.key = key
            self.peer = peer
        }
    }

    public let me: DHTKey
    public let k: Int
    private var buckets: [[Contact]]
    private var replacements: [[Contact]]

    public init(me: DHTKey, k: Int = 20) {
        self.me = me
        self.k = k
        buckets = Array(repeating: [], count: 256)
        replacements = Array(repeating: [], count: 256)
    }

    /// Contacts in the table.
    public var count: Int { buckets.reduce(0) { $0 + $1.count } }

    /// Every contact, nearest buckets first.
    public var contacts: [Contact] { buckets.reversed().flatMap { $0 } }

    private func bucket(of key: DHTKey) -> Int? {
        let shared = me.distance(to: key).leadingZeroBits
        return shared == 256 ? nil : shared
    }

    /// Records that `contact` answered or asked something: it moves to the bucket's most
    /// recent end, or joins it, or (the bucket full) waits in the replacement cache.
    public mutating func observe(_ contact: Contact) {
        guard let index = bucket(of: contact.key) else { return }
        if let position = buckets[index].firstIndex(where: { $0.peer == contact.peer }) {
            buckets[index].remove(at: position)
            buckets[index].append(contact)
            return
        }
        if buckets[index].count < k {
            buckets[index].append(contact)
            return
        }
        replacements[index].removeAll { $0.peer == contact.peer }
        replacements[index].append(contact)
        if replacements[index].count > k { replacements[index].removeFirst() }
    }

    /// Drops a contact that failed to answer, refilling its bucket from the replacements.
    public mutating func remove(_ contact: Contact) {
        guard let index = bucket(of: contact.key),
              let position = buckets[index].firstIndex(where: { $0.peer == contact.peer })
        else { return }
        buckets[index].remove(at: position)
        if let replacement = replacements[index].popLast() { buckets[index].append(replacement) }
    }

    /// The `count` known contacts closest to `key`, closest first.
    public func closest(to key: DHTKey, count: Int) -> [Contact] {
        var all = buckets.flatMap { $0 }
        all.sort { $0.key.distance(to: key) < $1.key.distance(to: key) }
        return Array(all.prefix(count))
    }
}
