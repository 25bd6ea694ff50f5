import Metrics
import PlexusCore
import PlexusStore
import Synchronization

/// What trust lets through (DESIGN §15), read by every path that takes something from
/// another agent: the ingest pipeline (as its policy for every topic: a blocked author's
/// entries are refused), task submissions (`trust: tasks_from`), and the mesh (a blocked
/// agent's connections are closed after the handshake). Holds the contacts' levels in
/// memory; `Node` refreshes it whenever a contact changes.
final class TrustGate: IngestPolicy, Sendable {
    private let levels = Mutex<[AgentID: Trust]>([:])
    let policy: TrustPolicy

    init(policy: TrustPolicy) {
        self.policy = policy
    }

    /// Every topic.
    var topicPrefix: String { "" }

    /// The trust of `agent`: its contact's level, `unknown` without one.
    func trust(of agent: AgentID) -> Trust {
        levels.withLock { $0[agent] } ?? .unknown
    }

    /// The agents blocked here.
    var blocked: Set<AgentID> {
        levels.withLock { Set($0.filter { $0.value == .blocked }.keys) }
    }

    /// Takes the contacts' levels.
    func update(_ contacts: [ContactView]) {
        levels.withLock { levels in
            levels = Dictionary(contacts.map { ($0.agent, $0.trust) }, uniquingKeysWith: { $1 })
        }
    }

    func admit(_ entries: [SignedEntry]) async -> [PlexusError?] {
        let levels = levels.withLock { $0 }
        return entries.map { entry in
            guard levels[entry.author] == .blocked else { return nil }
            Self.refused("entry")
            return PlexusError(.forbidden, "the author \(entry.author.short) is blocked here")
        }
    }

    /// Why a task from `caller` is not taken, or nil when it is.
    func refusesTask(from caller: AgentID) -> PlexusError? {
        let trust = trust(of: caller)
        if trust == .blocked {
            Self.refused("task")
            return PlexusError(.forbidden, "this agent does not take tasks from a blocked agent")
        }
        guard trust >= policy.tasksFrom else {
            Self.refused("task")
            return PlexusError(.forbidden, "this agent takes tasks only from \(policy.tasksFrom.rawValue) contacts and up")
        }
        return nil
    }

    /// `plexus_trust_refused_total{what}`: entries, tasks and connections refused for trust.
    static func refused(_ what: String) {
        Metrics.Counter(label: "plexus_trust_refused_total", dimensions: [("what", what)]).increment()
    }
}
