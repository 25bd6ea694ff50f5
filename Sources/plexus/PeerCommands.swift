import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore
import PlexusNode

struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List mesh peers: connected ones (id, address, direction, RTT, traffic) and remembered ones not connected now (next redial, failures).")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let peers = try await global.client().peers()
            if global.json {
                Output.printJSON(peers)
                return
            }
            if peers.isEmpty { print("(no peers)") }
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            for peer in peers {
                let id = peer.agentID?.short ?? "?"
                guard peer.state == .connected else {
                    var line = "\(id)  \(peer.address)  \(peer.state.rawValue)"
                    if let next = peer.nextDialMs { line += String(format: "  next dial in %.1f s", Double(max(0, next - nowMs)) / 1000) }
                    if let failed = peer.failedDials, failed > 0 { line += "  \(failed) failed: \(peer.lastError ?? "?")" }
                    print(line)
                    continue
                }
                let rtt = peer.rttMs.map { String(format: "%.2f ms", $0) } ?? "-"
                let kept = peer.remembered ? "  remembered" : ""
                print("\(id)  \(peer.address)  \(peer.direction.rawValue)  rtt \(rtt)  in \(peer.bytesIn) B  out \(peer.bytesOut) B\(kept)")
            }
        }
    }
}

struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect the running node to a peer now, and keep it connected.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The agent id expected at that address; anyone else is refused.")
    var id: String?

    @Argument(help: "The peer's mesh address, host:port.")
    var address: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let expected = try id.map { text throws(PlexusError) in try AgentID.parse(text) }
            let peer = try await global.client().connect(ConnectRequest(address: address, id: expected))
            if global.json {
                Output.printJSON(peer)
            } else {
                print("connected to \(peer.agentID?.description ?? "?") at \(peer.address)")
            }
        }
    }
}

struct DisconnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disconnect", abstract: "Disconnect a peer and stop redialling it (by agent id or host:port).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The peer's agent id or mesh address.")
    var peer: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let removal = try await global.client().removePeer(peer)
            if global.json {
                Output.printJSON(removal)
            } else {
                print(removal.disconnected ? "disconnected \(peer)" : "\(peer) was not connected")
                if !removal.forgotten.isEmpty { print("forgot \(removal.forgotten.joined(separator: ", "))") }
            }
        }
    }
}
