import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

struct GroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "groups", abstract: "List the private groups this node is in.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let groups = try await global.client().groups()
            if global.json {
                Output.printJSON(groups)
            } else if groups.isEmpty {
                print("no groups (create one with: plexus group create NAME)")
            } else {
                for group in groups { print(describe(group)) }
            }
        }
    }
}

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Private groups: create, show, add, remove, role, rekey, leave.",
        subcommands: [
            GroupCreateCommand.self, GroupShowCommand.self, GroupAddCommand.self, GroupRemoveCommand.self,
            GroupRoleCommand.self, GroupRekeyCommand.self, GroupLeaveCommand.self,
        ])
}

struct GroupCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a private group owned by this agent.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's name (1-128 bytes).")
    var name: String

    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printGroup(try await global.client().createGroup(GroupCreateRequest(name: name, policy: try policy.request())), json: global.json)
        }
    }
}

struct GroupShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a group: members, roles, epoch.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printGroup(try await global.client().group(group), json: global.json)
        }
    }
}

struct GroupAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add an agent to a group; it is sent the group's keys and a welcome.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The agent's id.")
    var agent: String

    @Option(name: .long, help: "reader, member (default), manager or owner.")
    var role: GroupRole?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let request = GroupMemberRequest(agent: try AgentID.parse(agent), role: role)
            printGroup(try await global.client().addMember(group: group, request), json: global.json)
        }
    }
}

struct GroupRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove an agent: its later entries are refused and the group is rekeyed.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The agent's id.")
    var agent: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printGroup(try await global.client().removeMember(group: group, agent: try AgentID.parse(agent)), json: global.json)
        }
    }
}

struct GroupRoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "role", abstract: "Change a member's role.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The agent's id.")
    var agent: String

    @Argument(help: "reader, member, manager or owner.")
    var role: GroupRole

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printGroup(try await global.client().setRole(group: group, agent: try AgentID.parse(agent), role: role), json: global.json)
        }
    }
}

struct GroupRekeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rekey", abstract: "Start a new epoch sealed to the current members.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printGroup(try await global.client().rekey(group: group), json: global.json)
        }
    }
}

struct GroupLeaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leave", abstract: "Leave a group.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            printGroup(try await global.client().leave(group: group), json: global.json)
        }
    }
}

extension GroupRole: ExpressibleByArgument {}

/// One line per group: name, id, this agent's role, members.
private func describe(_ group: GroupView) -> String {
    "\(group.name)  \(group.id.hex.prefix(16))  \(group.role?.rawValue ?? "not a member")  \(group.members.count) members  \(group.entries) entries"
}

private func printGroup(_ group: GroupView, json: Bool) {
    if json {
        Output.printJSON(group)
        return
    }
    print("group \(group.name)")
    print("  id      \(group.id.hex)")
    print("  topic   \(group.topic)")
    print("  role    \(group.role?.rawValue ?? "not a member")")
    print("  epoch   \(group.epoch.map { String($0.hex.prefix(16)) } ?? "none held")\(group.needsRekey ? "  (a rekey is due)" : "")")
    print("  entries \(group.entries)")
    print("  members")
    for member in group.members { print("    \(member.agent)  \(member.role.rawValue)") }
    if group.pendingControls > 0 { print("  \(group.pendingControls) control entries wait for earlier ones") }
    for void in group.voidControls { print("  void \(void.id.hex.prefix(16)): \(void.reason)") }
}
