import ArgumentParser
import Foundation
import PlexusCore
import PlexusNode

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create this agent's identity and API token in the data directory.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Seal the key with a passphrase (scrypt + ChaChaPoly), from PLEXUS_PASSPHRASE or a prompt.")
    var encryptKeys = false

    @Flag(name: .long, help: "Replace an existing identity. The old one is lost.")
    var force = false

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let directory = DataDirectory.resolve(flag: global.data)
            if directory.hasIdentity && !force {
                throw PlexusError(.identityExists, "an identity already exists in \(directory.path); use --force to replace it (the old identity is lost)")
            }
            let passphrase = encryptKeys ? try Passphrase.obtain(confirm: true) : nil
            let id = try directory.initialize(passphrase: passphrase, force: force)
            if global.json {
                Output.printJSON(IdentityView(agentID: id, keysEncrypted: encryptKeys))
            } else {
                print("created identity \(id)")
                print("data directory: \(directory.path)\(encryptKeys ? " (key sealed with a passphrase)" : "")")
            }
        }
    }
}

struct IDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "id", abstract: "Print this agent's id.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let sealed = try DataDirectory.resolve(flag: global.data).sealedKey()
            if global.json {
                Output.printJSON(["agent_id": sealed.agentID.base32])
            } else {
                print(sealed.agentID)
            }
        }
    }
}

struct PubkeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey", abstract: "Print this agent's public key in hex and base32.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let sealed = try DataDirectory.resolve(flag: global.data).sealedKey()
            let view = IdentityView(agentID: sealed.agentID, keysEncrypted: sealed.needsPassphrase)
            if global.json {
                Output.printJSON(view)
            } else {
                print("hex:    \(view.publicKeyHex)")
                print("base32: \(view.publicKeyBase32)")
            }
        }
    }
}

struct InitConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-config", abstract: "Write a documented config.yaml template into the data directory.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Overwrite an existing config.yaml.")
    var force = false

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let directory = DataDirectory.resolve(flag: global.data)
            try directory.create()
            let path = directory.configFile.path
            if FileManager.default.fileExists(atPath: path) && !force {
                throw PlexusError(.invalidConfig, "\(path) exists; use --force to overwrite it")
            }
            do {
                try Data(NodeConfig.template.utf8).write(to: directory.configFile, options: .atomic)
            } catch {
                throw PlexusError(.invalidConfig, "cannot write \(path): \(error.localizedDescription)")
            }
            if global.json { Output.printJSON(["config": path]) } else { print("wrote \(path)") }
        }
    }
}

/// `plexus certify-agent`: the identity of this data directory (a user's) vouches for an
/// agent; the agent names the printed file in `agent: user_certificate`.
struct CertifyAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify-agent",
        abstract: "Sign a user certificate for an agent with this data directory's key (the user's); prints it as JSON.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The user's display name, shown with the agent.")
    var name: String?

    @Option(name: .long, help: "Days the certificate is valid.")
    var days = 365

    @Argument(help: "The agent id to vouch for.")
    var agent: String

    func validate() throws {
        guard (1...3650).contains(days) else { throw ValidationError("--days is 1 to 3650") }
    }

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let agentID = try AgentID.parse(agent)
            let sealed = try DataDirectory.resolve(flag: global.data).sealedKey()
            let key = try sealed.open(passphrase: sealed.needsPassphrase ? try Passphrase.obtain() : nil)
            let expires = Int64(Date().timeIntervalSince1970 * 1000) + Int64(days) * 86_400_000
            Output.printJSON(UserCertificate(signing: agentID, by: key, name: name, expiresMs: expires))
        }
    }
}
