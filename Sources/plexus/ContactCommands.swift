import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// `plexus contacts`: the contacts and their trust.
struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "contacts", abstract: "List contacts and their trust.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let contacts = try await global.client().contacts()
            if global.json { return Output.printJSON(contacts) }
            if contacts.isEmpty { print("(no contacts)") }
            for contact in contacts { print(ContactCommand.describe(contact)) }
        }
    }
}

/// `plexus contact add|remove`.
struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact", abstract: "Add, change or remove a contact (blocked, known or trusted).",
        subcommands: [ContactAddCommand.self, ContactRemoveCommand.self])

    static func describe(_ contact: ContactView) -> String {
        "\(contact.agent)  \(contact.trust.rawValue)" + (contact.name.map { "  \($0)" } ?? "")
    }
}

struct ContactAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a contact or change one: a blocked agent's entries, tasks and connections are refused from then on.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The agent id.")
    var agent: String

    @Option(name: .long, help: "A name for it.")
    var name: String?

    @Option(name: .long, help: "blocked, known or trusted (a new contact: known).")
    var trust: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let trust = try self.trust.map { text throws(PlexusError) -> Trust in
                guard let trust = Trust(rawValue: text), Trust.contactLevels.contains(trust) else {
                    throw PlexusError(.invalidArgument, "--trust is blocked, known or trusted")
                }
                return trust
            }
            let request = ContactRequest(agent: try AgentID.parse(agent), name: name, trust: trust)
            let contact = try await global.client().addContact(try request.validated())
            if global.json { Output.printJSON(contact) } else { print(ContactCommand.describe(contact)) }
        }
    }
}

struct ContactRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Forget a contact: the agent is unknown again.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The agent id.")
    var agent: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let contact = try await global.client().removeContact(try AgentID.parse(agent))
            if global.json { Output.printJSON(contact) } else { print("removed " + ContactCommand.describe(contact)) }
        }
    }
}
