import PlexusCore
import PlexusProtocol
import PlexusStore

/// The private-group operations (`GroupService`) of `LocalNodeService`.
extension LocalNodeService {
    public func groups() async throws(PlexusError) -> [GroupView] {
        await node.groups.load()
        return await node.groups.views()
    }

    public func group(_ group: String) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.view(of: group)
    }

    public func createGroup(_ request: GroupCreateRequest) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.create(request)
    }

    public func addMember(group: String, _ request: GroupMemberRequest) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.add(group, request)
    }

    public func removeMember(group: String, agent: AgentID) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.remove(group, agent: agent)
    }

    public func setRole(group: String, agent: AgentID, role: GroupRole) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.setRole(group, agent: agent, role: role)
    }

    public func rekey(group: String) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.rekey(group)
    }

    public func leave(group: String) async throws(PlexusError) -> GroupView {
        await node.groups.load()
        return try await node.groups.remove(group, agent: node.id)
    }

    public func publish(group: String, _ request: PublishRequest) async throws(PlexusError) -> EntryView {
        await node.groups.load()
        let stored = try await node.groups.publish(group, request)
        let groupID = try await node.groups.view(of: group).id
        guard let view = await node.groups.opened(stored.entry.id, in: groupID) else {
            throw PlexusError(.internal, "the group entry just sealed does not open here")
        }
        return view
    }

    public func groupFeed(group: String, _ request: GroupFeedRequest) async throws(PlexusError) -> EntryPage {
        await node.groups.load()
        let wait = try WaitTime.duration(ms: request.feed.waitMs)
        let deadline = ContinuousClock.now + wait
        // Reading forward, first take in what is stored: an entry stored before one of this
        // node's own must not be passed over.
        if request.feed.since != nil { await node.groups.catchUp() }
        while true {
            let page = try await node.groups.feed(group, request)
            guard page.entries.isEmpty, let since = request.feed.since, ContinuousClock.now < deadline else { return page }
            // A second at most per wait: an entry held back for its key is released by time, not by an arrival.
            let timeout = min(deadline - ContinuousClock.now, .seconds(1))
            let groupArrivals = node.store.topicArrivals.signal(forPrefix: GroupEntryType.topicPrefix)
            try await groupArrivals.wait(after: max(since, await node.store.arrivals.latest), timeout: timeout)
            // Cancelled (the request gone, the node stopping): the empty page, at its cursor.
            if Task.isCancelled { return page }
            await node.groups.catchUp()
        }
    }

    public func groupSearch(group: String, _ request: GroupSearchRequest) async throws(PlexusError) -> SearchResults {
        await node.groups.load()
        return try await node.groups.search(group, request)
    }

    public func retract(_ entry: EntryID, reason: String?) async throws(PlexusError) -> EntryView {
        await node.groups.load()
        let (stored, group) = try await node.groups.retract(entry, reason: reason)
        guard let view = await node.groups.opened(stored.entry.id, in: group) else {
            throw PlexusError(.internal, "the retraction just sealed does not open here")
        }
        return view
    }

    public func compileContext(group: String, _ request: ContextRequest) async throws(PlexusError) -> ContextView {
        await node.groups.load()
        return try await node.groups.context(group, request)
    }

    public func board(group: String) async throws(PlexusError) -> BoardView {
        await node.groups.load()
        return try await node.groups.board(group)
    }

    public func createBoardTask(group: String, _ request: BoardCreateRequest) async throws(PlexusError) -> BoardTaskView {
        await node.groups.load()
        return try await node.groups.createBoardTask(group, request)
    }

    public func moveBoardTask(group: String, task: EntryID, _ move: BoardMove) async throws(PlexusError) -> BoardTaskView {
        await node.groups.load()
        return try await node.groups.moveBoardTask(group, task: task, move)
    }

    public func presence(group: String, staleAfterMs: Int64?) async throws(PlexusError) -> [PresenceView] {
        await node.groups.load()
        return try await node.groups.presence(group, staleAfterMs: staleAfterMs)
    }

    public func setPresence(group: String, _ request: PresenceRequest) async throws(PlexusError) -> PresenceView {
        await node.groups.load()
        return try await node.groups.setPresence(group, request)
    }
}
