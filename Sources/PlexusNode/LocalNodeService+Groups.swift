import PlexusCore
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

    public func groupFeed(group: String, _ request: FeedRequest) async throws(PlexusError) -> EntryPage {
        await node.groups.load()
        let wait = try WaitTime.duration(ms: request.waitMs)
        let deadline = ContinuousClock.now + wait
        while true {
            let page = try await node.groups.feed(group, request)
            guard page.entries.isEmpty, let since = request.since, ContinuousClock.now < deadline else { return page }
            try await node.store.arrivals.wait(after: max(since, await node.store.arrivals.latest), timeout: deadline - ContinuousClock.now)
            await node.groups.catchUp()
        }
    }
}
