import PlexusCore

/// Finding the other members of a topic (PROTOCOL.md §7): a node in a topic without a
/// neighbour in it sends a query on a walk through the `mesh` overlay; the first node on
/// the walk that knows members (itself, or connected peers that told it their topics)
/// answers the origin directly, and the origin joins the topic through one of them.
extension GossipEngine {
    /// How often a topic without neighbours is looked for, and how far a query walks.
    static let discoveryInterval = Duration.seconds(2)
    static let queryWalkLength: UInt32 = 6
    /// Most members named in one answer.
    static let maxMembersPerAnswer = 8

    /// Sends a query for every topic this node is in without a neighbour, at most every
    /// `discoveryInterval`, to a few of its mesh neighbours.
    func discoveryTick(now time: Duration) async {
        guard time >= nextDiscovery else { return }
        nextDiscovery = time + Self.discoveryInterval
        let lonely = topics.filter { $0.key != TopicName.mesh && $0.value.membership.active.isEmpty }.map(\.key)
        guard !lonely.isEmpty, let mesh = topics[TopicName.mesh]?.membership.active, !mesh.isEmpty else { return }
        for name in lonely {
            // A connected peer known to be in the topic is joined through directly.
            if let member = peerTopics.first(where: { $0.value.contains(name) })?.key {
                await join(name, via: member)
                continue
            }
            for peer in mesh.shuffled().prefix(3) {
                await send(Self.gossip(name) { gossip in
                    gossip.topicQuery = .with { $0.origin = ref(me); $0.ttl = Self.queryWalkLength }
                }, to: peer)
            }
        }
    }

    func receiveTopicQuery(_ query: Plexus_TopicQuery, topic name: String, from peer: AgentID) async {
        guard name.utf8.count <= TopicName.maxBytes, name != TopicName.mesh,
              let origin = remember(query.origin), origin != me, !query.origin.address.isEmpty
        else { return }
        let members = knownMembers(of: name, excluding: origin)
        if !members.isEmpty {
            await send(Self.gossip(name) { gossip in
                gossip.topicMembers = .with { $0.peers = members.map { ref($0) } }
            }, to: origin)
            return
        }
        guard query.ttl > 1,
              let next = topics[TopicName.mesh]?.membership.active.filter({ $0 != peer && $0 != origin }).randomElement()
        else { return }
        var forwarded = query
        forwarded.ttl = min(query.ttl, Self.queryWalkLength) - 1
        await send(Self.gossip(name) { $0.topicQuery = forwarded }, to: next)
    }

    func receiveTopicMembers(_ list: Plexus_PeerList, topic name: String, from peer: AgentID) async {
        guard topics[name]?.membership.active.isEmpty == true else { return }
        for member in list.peers.prefix(Self.maxMembersPerAnswer).compactMap({ remember($0) }) where member != me {
            // Joining sends JOIN to the member, dialling it at the address just learned.
            await join(name, via: member)
            if topics[name]?.membership.active.isEmpty == false { return }
        }
    }

    /// Members of a topic this node can name with an address: itself, and connected peers
    /// that said they are in it.
    private func knownMembers(of name: String, excluding origin: AgentID) -> [AgentID] {
        var members: [AgentID] = []
        if topics[name] != nil && !advertised.isEmpty { members.append(me) }
        for (peer, theirs) in peerTopics where theirs.contains(name) && peer != origin && addresses[peer] != nil {
            members.append(peer)
            if members.count >= Self.maxMembersPerAnswer { break }
        }
        return members
    }
}
