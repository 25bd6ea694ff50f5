import Foundation
import PlexusClient
import PlexusCore
import PlexusNode
import PlexusProtocol
import Testing

/// Private groups on real `plexus serve` processes: three members and an outsider on one
/// mesh; add, publish, remove, rekey, publish again, restart every node; and each threat of
/// issue 13 tried for real (an outsider subscribed to the topic, a removed member writing,
/// forking and replaying, a member overstepping its role, files on disk).
@Suite(.serialized) struct GroupTests {
    static func start(_ peer: ServeProcess? = nil, directory: TempDirectory? = nil) async throws -> ServeProcess {
        try await ServeProcess(
            directory: directory ?? ReplicationTests.directory(), arguments: peer.map { ["--peer", $0.meshAddress] } ?? [],
            announce: true)
    }

    /// Whether `node` holds `agent`'s directory record with its exchange key.
    static func knows(_ node: ServeProcess, _ agent: AgentID) async -> Bool {
        (try? await node.client.agent(agent))?.record.exchangeKey != nil
    }

    /// Waits until `node` knows the exchange keys of `agents` (it needs them to add them).
    static func waitUntil(_ node: ServeProcess, knows agents: [AgentID]) async throws {
        try await MeshTests.eventually("the node knows every agent's exchange key", within: .seconds(60)) {
            for agent in agents where await !knows(node, agent) { return false }
            return true
        }
    }

    static func texts(_ node: ServeProcess, group: String) async throws -> Set<String> {
        let page = try await node.client.groupFeed(group: group, GroupFeedRequest(FeedRequest(limit: 1000)))
        return Set(page.entries.compactMap { entry -> String? in
            if case .string(let text)? = entry.content?.objectValue?["text"] { return text }
            return nil
        })
    }

    static func refusal(_ body: () async throws -> Void) async -> PlexusError.Code? {
        do {
            try await body()
            return nil
        } catch let error as PlexusError {
            return error.code
        } catch {
            return .internal
        }
    }

    @Test func membersShareAGroupThatOutsidersAndRemovedMembersCannotReadOrWrite() async throws {
        let owner = try await Self.start()
        let bob = try await Self.start(owner)
        let carol = try await Self.start(owner)
        let outsider = try await Self.start(owner)
        let bobID = try await bob.client.identity().agentID
        let carolID = try await carol.client.identity().agentID
        try await Self.waitUntil(owner, knows: [bobID, carolID])

        let created = try await owner.client.createGroup(GroupCreateRequest(name: "lab"))
        let group = created.id.hex
        #expect(created.role == .owner && created.topic.hasPrefix("group/") && created.epoch == created.id)
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: bobID))
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: carolID))
        // The outsider learns the topic and subscribes to it.
        _ = try await outsider.client.subscribe(created.topic)

        let first = try await owner.client.publish(
            group: group, PublishRequest(type: "claim", tags: ["salt"], content: .object(["text": .string("the secret is salt")])))
        #expect(first.group == created.id && first.type == "claim" && first.tags == ["salt"])
        try await MeshTests.eventually("Bob and Carol were welcomed and read the owner's claim", within: .seconds(60)) {
            let bobReads = try await Self.texts(bob, group: group).contains("the secret is salt")
            let carolReads = try await Self.texts(carol, group: "lab").contains("the secret is salt")
            return bobReads && carolReads
        }
        let bobsEntry = try await bob.client.publish(group: group, PublishRequest(content: .object(["text": .string("bob was here")])))
        try await MeshTests.eventually("Carol reads Bob's entry", within: .seconds(60)) {
            try await Self.texts(carol, group: group).contains("bob was here")
        }
        // Bob, a member, signs a malformed envelope and a malformed control entry: refused
        // with their code, and nothing the owner holds changes.
        let bobKeyForMalformed = try DataDirectory(bob.directory.path).sealedKey().open(passphrase: nil)
        let rosterBeforeMalformed = try await owner.client.group(group)
        let textsBeforeMalformed = try await Self.texts(owner, group: group)
        for type in [GroupEntryType.sealed, GroupEntryType.add] {
            let head = try await bob.client.feed(author: bobID.description, limit: 1).entries.first
            var body = Plexus_EntryBody()
            body.author = bobID.bytes.asData
            body.seq = (head?.seq ?? 0) + 1
            body.prev = head.map { Data($0.id.bytes) } ?? Data()
            body.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
            body.type = type
            body.topic = created.topic
            body.content = Data("not an envelope".utf8)
            let malformed = try SignedEntry(signing: body, with: bobKeyForMalformed).encoded()
            #expect(await Self.refusal { _ = try await owner.client.submit(entry: malformed) } == .malformedEnvelope, "\(type)")
        }
        #expect(try await owner.client.group(group) == rosterBeforeMalformed)
        #expect(try await Self.texts(owner, group: group) == textsBeforeMalformed)

        // On the wire and in every store the entry is sealed: type, tags and content hidden.
        let raw = try await carol.client.entry(first.id)
        #expect(raw.type == GroupEntryType.sealed && raw.tags.isEmpty && raw.content == nil && raw.group == nil)

        // A member may not add, remove or rekey.
        #expect(await Self.refusal { _ = try await carol.client.addMember(group: group, GroupMemberRequest(agent: outsider.client.identity().agentID)) } == .forbidden)
        #expect(await Self.refusal { _ = try await carol.client.removeMember(group: group, agent: bobID) } == .forbidden)
        #expect(await Self.refusal { _ = try await carol.client.rekey(group: group) } == .forbidden)

        // The owner removes Bob: the group is rekeyed to the owner and Carol.
        let afterRemoval = try await owner.client.removeMember(group: group, agent: bobID)
        #expect(Set(afterRemoval.members.map(\.agent)) == [try await owner.client.identity().agentID, carolID])
        #expect(afterRemoval.epoch != created.id && !afterRemoval.needsRekey)
        _ = try await owner.client.publish(group: group, PublishRequest(content: .object(["text": .string("after bob left")])))
        try await MeshTests.eventually("Carol reads what came after the removal", within: .seconds(60)) {
            try await Self.texts(carol, group: group).contains("after bob left")
        }
        try await MeshTests.eventually("Bob's node sees its removal", within: .seconds(60)) {
            try await bob.client.group(group).role == nil
        }
        #expect(await Self.refusal { _ = try await bob.client.publish(group: group, PublishRequest(content: .object(["text": .string("x")]))) } == .forbidden)

        // Bob, with his own key, forges entries past his cutoff and forks below it: every
        // member refuses them. Replaying his old add changes nothing.
        let bobKey = try DataDirectory(bob.directory.path).sealedKey().open(passphrase: nil)
        let bobHead = try await bob.client.feed(author: bobID.description, limit: 1).entries.first
        var late = Plexus_EntryBody()
        late.author = bobID.bytes.asData
        late.seq = (bobHead?.seq ?? 0) + 1
        late.prev = bobHead.map { Data($0.id.bytes) } ?? Data()
        late.timeMs = 1
        late.type = GroupEntryType.sealed
        late.topic = created.topic
        late.content = try SealedEntry.seal(Data("x".utf8), group: created.id, epoch: created.id, epochKey: .init(size: .bits256), author: bobID, seq: late.seq)
        let forged = try SignedEntry(signing: late, with: bobKey).encoded()
        for member in [owner, carol] {
            #expect(await Self.refusal { _ = try await member.client.submit(entry: forged) } == .notMember)
        }
        var fork = late
        fork.seq = bobsEntry.seq
        fork.prev = bobsEntry.prev.map { Data($0.bytes) } ?? Data()
        let forkedEntry = try SignedEntry(signing: fork, with: bobKey).encoded()
        #expect(await Self.refusal { _ = try await owner.client.submit(entry: forkedEntry) } == .forkDetected)
        let addBob = try await owner.client.feed(author: try await owner.client.identity().agentID.description, type: GroupEntryType.add, limit: 10)
        for add in addBob.entries {
            let replay = try await owner.client.submit(entry: try await Self.encoded(add.id, from: owner))
            #expect(!replay.created)
        }
        #expect(try await owner.client.group(group).members.map(\.agent).contains(bobID) == false)
        // Bob never reads what came after his removal.
        #expect(try await Self.texts(bob, group: group).contains("after bob left") == false)

        // The outsider subscribed to the topic got nothing, and no member counts it as a
        // neighbour there. (Its own view may list a member it asked a moment ago: the
        // member ignores it.)
        let outsiderID = try await outsider.client.identity().agentID
        let outsiderTopic = try await outsider.client.topics().first { $0.name == created.topic }
        #expect(outsiderTopic?.entries == 0)
        for member in [owner, carol] {
            let topic = try await member.client.topics().first { $0.name == created.topic }
            #expect(topic?.neighbors.contains(outsiderID) == false)
        }
        #expect(await Self.refusal { _ = try await outsider.client.groupFeed(group: group, GroupFeedRequest()) } == .notFound)

        // No plaintext of the group in any member's data directory.
        for node in [owner, bob, carol] {
            for secret in ["the secret is salt", "bob was here", "after bob left", "salt"] {
                #expect(try Self.directoryContains(node.directory.url, Data(secret.utf8)) == false, "\(secret)")
            }
        }

        // Restarted, every node has the same roster, the same readable history and the
        // same refusals.
        let rosterBefore = try await owner.client.group(group).members
        let carolBefore = try await Self.texts(carol, group: group)
        var restarted: [ServeProcess] = []
        for node in [owner, bob, carol] {
            _ = try await node.stop()
            restarted.append(try await Self.start(directory: node.directory))
        }
        for node in restarted {
            #expect(try await node.client.group(group).members == rosterBefore)
        }
        #expect(try await Self.texts(restarted[2], group: group) == carolBefore)
        #expect(try await Self.texts(restarted[1], group: group).contains("after bob left") == false)
        #expect(await Self.refusal { _ = try await restarted[0].client.submit(entry: forged) } == .notMember)
    }

    /// An owner whose entries are limited to 4 KiB seals one epoch key per entry, so each
    /// of its rekeys is split into a start and continuations (PROTOCOL.md §13.3): every
    /// member still gets the new key, and a removed one does not.
    @Test func aRekeySplitOverSeveralEntriesReachesEveryMember() async throws {
        let owner = try await ServeProcess(
            directory: ReplicationTests.directory(), arguments: ["--max-body-bytes", "4096"], announce: true)
        let bob = try await Self.start(owner)
        let carol = try await Self.start(owner)
        let ownerID = try await owner.client.identity().agentID
        let bobID = try await bob.client.identity().agentID
        let carolID = try await carol.client.identity().agentID
        try await Self.waitUntil(owner, knows: [bobID, carolID])
        let created = try await owner.client.createGroup(GroupCreateRequest(name: "split"))
        let group = created.id.hex
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: bobID))
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: carolID))

        // Three members, one seal per entry: the rekey is a start and two continuations.
        let rekeyed = try await owner.client.rekey(group: group)
        let rekeys = try await owner.client.feed(author: ownerID.description, type: GroupEntryType.rekey, limit: 10).entries
        #expect(rekeys.count == 3 && rekeyed.epoch == rekeys.map(\.seq).min().flatMap { seq in rekeys.first { $0.seq == seq }?.id })
        #expect(!rekeyed.needsRekey)
        _ = try await owner.client.publish(group: group, PublishRequest(content: .object(["text": .string("under the split epoch")])))
        try await MeshTests.eventually("Bob and Carol read under the split epoch", within: .seconds(60)) {
            let bobReads = try await Self.texts(bob, group: group).contains("under the split epoch")
            let carolReads = try await Self.texts(carol, group: group).contains("under the split epoch")
            return bobReads && carolReads
        }
        for node in [bob, carol] {
            let view = try await node.client.group(group)
            #expect(view.epoch == rekeyed.epoch && !view.needsRekey && view.voidControls.isEmpty)
        }

        // Removing Carol rekeys to two members over two entries; Bob reads on, Carol not.
        let afterRemoval = try await owner.client.removeMember(group: group, agent: carolID)
        #expect(afterRemoval.epoch != rekeyed.epoch && !afterRemoval.needsRekey)
        let allRekeys = try await owner.client.feed(author: ownerID.description, type: GroupEntryType.rekey, limit: 10).entries
        #expect(allRekeys.count == 4)
        _ = try await owner.client.publish(group: group, PublishRequest(content: .object(["text": .string("after carol left")])))
        try await MeshTests.eventually("Bob reads what came after Carol's removal", within: .seconds(60)) {
            try await Self.texts(bob, group: group).contains("after carol left")
        }
        try await MeshTests.eventually("Carol's node sees its removal", within: .seconds(60)) {
            try await carol.client.group(group).role == nil
        }
        #expect(try await Self.texts(carol, group: group).contains("after carol left") == false)
    }

    static func text(_ entry: EntryView) -> String? {
        if case .string(let text)? = entry.content?.objectValue?["text"] { return text }
        return nil
    }

    /// The first entry event of a group's stream on `node` after `action` runs.
    static func firstGroupEvent(_ node: ServeProcess, group: String, after action: @escaping @Sendable () async throws -> Void) async throws -> EntryView? {
        let latest = try await node.client.status().store.latestCursor
        let stream = node.client.events(group: group, lastEventID: String(latest), heartbeatMs: 500)
        return try await withThrowingTaskGroup(of: EntryView?.self) { tasks in
            tasks.addTask {
                for try await event in stream where event.event == "entry" {
                    return try JSONDecoder().decode(EntryView.self, from: Data(event.data.utf8))
                }
                return nil
            }
            tasks.addTask {
                try await action()
                try await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = try await tasks.next() ?? nil
            tasks.cancelAll()
            return first
        }
    }

    @Test func membersRetractSupersedeSearchCompileContextRunABoardAndShowPresence() async throws {
        let owner = try await Self.start()
        let bob = try await Self.start(owner)
        let bobID = try await bob.client.identity().agentID
        try await Self.waitUntil(owner, knows: [bobID])
        let group = try await owner.client.createGroup(GroupCreateRequest(name: "notes")).id.hex
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: bobID))

        func say(_ text: String, supersedes: [EntryID]? = nil) async throws -> EntryView {
            try await owner.client.publish(group: group, PublishRequest(type: "claim", supersedes: supersedes, content: .object(["text": .string(text)])))
        }
        let lru = try await say("the ingest cache uses LRU eviction")
        let fridays = try await say("deploys happen on Fridays")
        try await MeshTests.eventually("Bob reads both claims", within: .seconds(60)) {
            try await Self.texts(bob, group: group).isSuperset(of: ["the ingest cache uses LRU eviction", "deploys happen on Fridays"])
        }

        // Supersede: the new claim replaces the old one in every default view.
        let lfu = try await say("the ingest cache uses LFU eviction since March", supersedes: [lru.id])
        #expect(lfu.supersedes == [lru.id])
        try await MeshTests.eventually("Bob sees the correction replace the claim", within: .seconds(60)) {
            let texts = try await Self.texts(bob, group: group)
            return texts.contains("the ingest cache uses LFU eviction since March") && !texts.contains("the ingest cache uses LRU eviction")
        }
        let all = try await bob.client.groupFeed(group: group, GroupFeedRequest(includeHidden: true)).entries
        #expect(all.first { $0.id == lru.id }?.supersededBy == lfu.id)
        // Only the author retracts or supersedes.
        #expect(await Self.refusal { _ = try await bob.client.retract(fridays.id, reason: nil) } == .forbidden)
        #expect(await Self.refusal {
            _ = try await bob.client.publish(group: group, PublishRequest(supersedes: [fridays.id], content: .object(["text": .string("no")])))
        } == .forbidden)
        let retraction = try await owner.client.retract(fridays.id, reason: "we deploy daily now")
        #expect(retraction.type == "retract" && retraction.supersedes == [fridays.id])
        #expect(await Self.refusal { _ = try await owner.client.retract(fridays.id, reason: nil) } == .rejected)
        try await MeshTests.eventually("Bob no longer lists the retracted claim", within: .seconds(60)) {
            let entries = try await bob.client.groupFeed(group: group, GroupFeedRequest(includeHidden: true)).entries
            let listed = try await Self.texts(bob, group: group)
            return entries.first { $0.id == fridays.id }?.retractedBy == retraction.id && !listed.contains("deploys happen on Fridays")
        }

        // Search and compile_context honour both.
        let hits = try await bob.client.groupSearch(group: group, GroupSearchRequest("cache eviction"))
        #expect(hits.hits.map(\.entry.id) == [lfu.id])
        #expect(try await bob.client.groupSearch(group: group, GroupSearchRequest("deploys Fridays")).hits.isEmpty)
        // With hidden entries: the claim and the retraction, whose reason says "deploy".
        #expect(Set(try await bob.client.groupSearch(group: group, GroupSearchRequest("deploys Fridays", includeHidden: true)).hits.map(\.entry.id)) == [fridays.id, retraction.id])
        let context = try await bob.client.compileContext(group: group, ContextRequest(query: "which cache eviction do we use", budget: 500))
        #expect(context.pieces.map(\.entry.id) == [lfu.id])
        #expect(context.text.contains(lfu.id.hex.prefix(12)) && context.text.contains("LFU") && !context.text.contains("LRU"))
        #expect(context.tokens <= 500)
        // A window on the author's time leaves out what came before it.
        #expect(try await bob.client.compileContext(group: group, ContextRequest(query: "cache eviction", sinceMs: lfu.timeMs + 1)).pieces.isEmpty)

        // The board: the fold decides who may move a task.
        let task = try await owner.client.createBoardTask(group: group, BoardCreateRequest(title: "measure the hit rate", assignee: bobID))
        #expect(task.state == "assigned" && task.assignee == bobID)
        #expect(await Self.refusal { _ = try await owner.client.moveBoardTask(group: group, task: task.id, .start) } == .forbidden)
        try await MeshTests.eventually("the task reaches Bob's board", within: .seconds(60)) {
            try await bob.client.board(group: group).tasks.contains { $0.id == task.id }
        }
        #expect(await Self.refusal { _ = try await bob.client.moveBoardTask(group: group, task: task.id, .assign(bobID)) } == .forbidden)
        #expect(try await bob.client.moveBoardTask(group: group, task: task.id, .start).state == "started")
        let done = try await bob.client.moveBoardTask(group: group, task: task.id, .complete(result: lfu.id))
        #expect(done.state == "completed" && done.result == lfu.id && done.history.count == 3)
        #expect(await Self.refusal { _ = try await bob.client.moveBoardTask(group: group, task: task.id, .fail(reason: "late")) } == .rejected)
        try await MeshTests.eventually("the owner sees the task completed", within: .seconds(60)) {
            try await owner.client.board(group: group).tasks.first { $0.id == task.id }?.state == "completed"
        }

        // Presence: soft state, sealed, never an entry.
        let entriesBefore = try await owner.client.status().store.entries
        _ = try await bob.client.setPresence(group: group, PresenceRequest(status: .busy, text: "reviewing", note: .object(["pr": .integer(42)])))
        try await MeshTests.eventually("the owner sees Bob busy", within: .seconds(60)) {
            try await owner.client.presence(group: group, staleAfterMs: nil).contains { $0.agent == bobID && $0.status == .busy && $0.text == "reviewing" && !$0.stale }
        }
        try await MeshTests.eventually("a reader's threshold marks it stale", within: .seconds(10)) {
            try await owner.client.presence(group: group, staleAfterMs: 1).first { $0.agent == bobID }?.stale == true
        }
        #expect(try await owner.client.status().store.entries == entriesBefore)

        // Watching the group by SSE delivers Bob's next entry, opened.
        let bobClient = bob.client
        let event = try await Self.firstGroupEvent(owner, group: group) {
            _ = try await bobClient.publish(group: group, PublishRequest(content: .object(["text": .string("watched")])))
        }
        #expect(event.flatMap(Self.text) == "watched" && event?.group?.hex == group)

        // Restarted, the owner rebuilds search, context and board from ciphertext alone.
        for secret in ["LFU eviction", "measure the hit rate", "reviewing"] {
            #expect(try Self.directoryContains(owner.directory.url, Data(secret.utf8)) == false, "\(secret)")
        }
        _ = try await owner.stop()
        let restarted = try await Self.start(directory: owner.directory)
        #expect(try await restarted.client.groupSearch(group: group, GroupSearchRequest("cache eviction")).hits.map(\.entry.id) == [lfu.id])
        #expect(try await restarted.client.board(group: group).tasks.first { $0.id == task.id }?.state == "completed")
        #expect(try await restarted.client.compileContext(group: group, ContextRequest(query: "cache eviction")).pieces.map(\.entry.id) == [lfu.id])
    }

    /// The control entries of a group that no other control entry builds on, as `node` holds them.
    static func controlHeads(_ node: ServeProcess, topic: String) async throws -> [EntryID] {
        let controls = try await node.client.feed(topic: topic, limit: 1000).entries.filter { GroupEntryType.control.contains($0.type) }
        let parents = Set(controls.flatMap(\.refs))
        return controls.map(\.id).filter { !parents.contains($0) }
    }

    /// A control entry signed with `key` as the next entry of its feed on `node`, built on `parents`.
    static func craftControl(
        _ type: String, _ message: Plexus_GroupControl, by key: AgentKey, on node: ServeProcess, topic: String, parents: [EntryID]
    ) async throws -> Data {
        let head = try await node.client.feed(author: key.id.description, limit: 1).entries.first
        var body = Plexus_EntryBody()
        body.author = key.id.bytes.asData
        body.seq = (head?.seq ?? 0) + 1
        body.prev = head.map { Data($0.id.bytes) } ?? Data()
        body.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
        body.type = type
        body.topic = topic
        body.refs = parents.map { $0.bytes.asData }
        body.content = try message.serializedBytes()
        return try SignedEntry(signing: body, with: key).encoded()
    }

    /// Two managers act at once (each built on the same control heads, neither seeing the
    /// other's): every node folds the same roster. First both acts count; then the owner
    /// removes the other manager while that manager re-adds someone, and strong removal
    /// voids the re-add on every node.
    @Test func concurrentActsOfTwoManagersConvergeToOneRosterOnEveryNode() async throws {
        let owner = try await Self.start()
        let bob = try await Self.start(owner)
        let carol = try await Self.start(owner)
        let dave = try await Self.start(owner)
        let ownerID = try await owner.client.identity().agentID
        let bobID = try await bob.client.identity().agentID
        let carolID = try await carol.client.identity().agentID
        let daveID = try await dave.client.identity().agentID
        try await Self.waitUntil(owner, knows: [bobID, carolID, daveID])
        let created = try await owner.client.createGroup(GroupCreateRequest(name: "two managers"))
        let group = created.id.hex
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: bobID, role: .manager))
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: carolID))
        try await MeshTests.eventually("Bob's node holds the roster with Bob a manager", within: .seconds(60)) {
            let view = try await bob.client.group(group)
            return view.role == .manager && view.members.count == 3
        }
        let bobKey = try DataDirectory(bob.directory.path).sealedKey().open(passphrase: nil)
        let carolKey = try DataDirectory(carol.directory.path).sealedKey().open(passphrase: nil)

        func rosters() async -> [[GroupMemberView]?] {
            var all: [[GroupMemberView]?] = []
            for node in [owner, bob, dave] { all.append(try? await node.client.group(group).members) }
            return all
        }

        // Round 1: Bob removes Carol while the owner adds Dave; both count.
        var heads = try await Self.controlHeads(bob, topic: created.topic)
        var removeCarol = Plexus_GroupControl()
        removeCarol.group = created.id.bytes.asData
        removeCarol.remove.member = carolID.bytes.asData
        removeCarol.remove.cutoff = try await bob.client.feed(author: carolID.description, limit: 1).entries.first?.seq ?? 0
        let bobsRemoval = try await Self.craftControl(GroupEntryType.remove, removeCarol, by: bobKey, on: bob, topic: created.topic, parents: heads)
        _ = try await owner.client.addMember(group: group, GroupMemberRequest(agent: daveID))
        #expect(try await bob.client.submit(entry: bobsRemoval).created)
        let expected1: Set<AgentID> = [ownerID, bobID, daveID]
        // (Carol's node, removed, is let into the topic no more: it may never hear of it.)
        try await MeshTests.eventually("owner, Bob and the welcomed Dave fold the same roster: Carol out, Dave in", within: .seconds(60)) {
            let all = await rosters()
            return Set(all.map { $0.map { Set($0.map(\.agent)) } }) == [expected1]
        }
        // The removal carried no new epoch: a manager's node rekeys, and Bob's node is quiet
        // again before Round 2 writes as Bob.
        try await MeshTests.eventually("the group is rekeyed and owner and Bob agree on the epoch", within: .seconds(60)) {
            let ownerView = try await owner.client.group(group)
            let bobView = try await bob.client.group(group)
            return !ownerView.needsRekey && !bobView.needsRekey && ownerView.epoch != nil && ownerView.epoch == bobView.epoch
        }

        // Round 2: the owner removes Bob while Bob (concurrently) adds Carol back: Bob's
        // add is void everywhere (strong removal), and Carol stays out.
        heads = try await Self.controlHeads(bob, topic: created.topic)
        var addCarol = Plexus_GroupControl()
        addCarol.group = created.id.bytes.asData
        addCarol.add.member = carolID.bytes.asData
        addCarol.add.role = GroupRole.member.rawValue
        addCarol.add.fromSeq = (removeCarol.remove.cutoff) + 1_000
        addCarol.add.memberKey = ExchangeKey.binding(of: carolKey).wire
        let bobsAdd = try await Self.craftControl(GroupEntryType.add, addCarol, by: bobKey, on: bob, topic: created.topic, parents: heads)
        _ = try await owner.client.removeMember(group: group, agent: bobID)
        // Bob's node is no longer let into the topic's overlay; the add reaches the owner as
        // any signed entry may, and the owner's node passes it on to Dave's.
        #expect(try await owner.client.submit(entry: bobsAdd).created)
        let expected2: Set<AgentID> = [ownerID, daveID]
        try await MeshTests.eventually("owner and Dave fold Bob out and his concurrent add void", within: .seconds(60)) {
            let ownerRoster = try await owner.client.group(group)
            let daveRoster = try await dave.client.group(group)
            return Set(ownerRoster.members.map(\.agent)) == expected2 && Set(daveRoster.members.map(\.agent)) == expected2
                && ownerRoster.voidControls.contains { $0.reason == "revokedConcurrently" }
                && daveRoster.voidControls.map(\.id) == ownerRoster.voidControls.map(\.id)
        }
    }

    /// The protobuf bytes of an entry a node holds (as `POST /v1/entries` takes them).
    static func encoded(_ id: EntryID, from node: ServeProcess) async throws -> Data {
        let view = try await node.client.entry(id)
        var body = Plexus_EntryBody()
        body.author = view.author.bytes.asData
        body.seq = view.seq
        body.prev = view.prev.map { Data($0.bytes) } ?? Data()
        body.timeMs = view.timeMs
        body.type = view.type
        body.topic = view.topic
        body.tags = view.tags
        body.refs = view.refs.map { Data($0.bytes) }
        body.content = view.contentBase64.flatMap { Data(base64Encoded: $0) } ?? Data()
        if let expires = view.expiresMs { body.expiresMs = expires }
        var entry = Plexus_Entry()
        entry.body = try body.serializedBytes()
        entry.signature = Data(Hex.decode(view.signature) ?? [])
        return try entry.serializedBytes()
    }

    /// Whether any file under `url` contains `needle`.
    static func directoryContains(_ url: URL, _ needle: Data) throws -> Bool {
        let files = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        return try files.contains { file in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return false }
            return try Data(contentsOf: file).range(of: needle) != nil
        }
    }
}
