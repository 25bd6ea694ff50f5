import ArgumentParser
import NIOCore
import PlexusClient
import PlexusCore
import PlexusNode

/// `plexus`: run a node and talk to it.
@main
struct PlexusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plexus",
        abstract: "A peer-to-peer mesh for AI agents: identity, signed feeds, search.",
        version: PlexusVersion.current,
        subcommands: [
            InitCommand.self, InitConfigCommand.self, IDCommand.self, PubkeyCommand.self, CertifyAgentCommand.self, StatusCommand.self,
            ServeCommand.self, PublishCommand.self, PublishManyCommand.self, FeedCommand.self, SearchCommand.self, GetCommand.self,
            ThreadCommand.self, SubmitCommand.self, DeleteCommand.self, ForksCommand.self, PeersCommand.self, ConnectCommand.self,
            DisconnectCommand.self,
            TopicsCommand.self, SubscribeCommand.self, UnsubscribeCommand.self, FollowsCommand.self, FollowCommand.self,
            UnfollowCommand.self, SyncCommand.self, EventsCommand.self, MCPCommand.self,
            MetricsCommand.self, AgentsCommand.self, FindCommand.self, TaskCommand.self, TasksCommand.self, WorkerCommand.self,
            GroupsCommand.self, GroupCommand.self, RetractCommand.self, ContextCommand.self, BoardCommand.self,
            PresenceCommand.self, BalanceCommand.self, LedgerCommand.self, MintCommand.self, TransferCommand.self, PolicyCommand.self,
            OffersCommand.self, OfferCommand.self, RetentionCommand.self, BlobCommand.self, BlobsCommand.self, UICommand.self, ContactsCommand.self, ContactCommand.self, DirectCommand.self,
        ]
    )
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $PLEXUS_HOME or ~/.plexus).")
    var data: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}

extension GlobalOptions {
    /// A client of the running node that owns the data directory.
    func client(timeout: TimeAmount = .seconds(30)) async throws(PlexusError) -> NodeClient {
        try await NodeClient.connect(dataDirectory: DataDirectory.resolve(flag: data).path, timeout: timeout)
    }
}

/// Runs a command body, turning a `PlexusError` into a clear message and exit code 1
/// (and, with `--json`, the error envelope on stdout).
func reportingErrors(json: Bool, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as PlexusError {
        if json {
            Output.printJSON(ErrorReply(error: .init(code: error.code.rawValue, message: error.message)))
        }
        Output.printError("\(error.message) [\(error.code.rawValue)]")
        throw ExitCode(1)
    }
}

private struct ErrorReply: Encodable {
    struct Body: Encodable {
        let code: String
        let message: String
    }

    let ok = false
    let error: Body
}
