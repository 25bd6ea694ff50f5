import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

/// `plexus ui`: a one-time login link for the node's web panel.
struct UICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Print a one-time login link for the node's web panel (and with --open, open it in a browser).",
        discussion: """
            The link carries a short-lived code, good for one sign-in; the browser then holds a session cookie. \
            The API token never appears in the link or the panel.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Open the link with the desktop's browser (xdg-open).")
    var open = false

    @Option(name: .long, help: "How long the link works: 30s, 5m (1 s to 10 min; default 60 s).")
    var valid: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let ttlMs = try valid.map { text throws(PlexusError) -> Int in
                let seconds = try RetentionPolicyRequest.seconds(from: text)
                guard seconds <= 600 else { throw PlexusError(.invalidArgument, "--valid is at most 10m") }
                return Int(seconds) * 1000
            }
            let client = try await global.client()
            let login = try await client.panelLogin(ttlMs: ttlMs)
            let url = client.panelURL(login)
            if global.json { return Output.printJSON(PanelLink(url: url, expiresMs: login.expiresMs)) }
            print(url)
            guard open else { return }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["xdg-open", url]
            do {
                try process.run()
                process.waitUntilExit()
                if process.terminationStatus != 0 { Output.printError("could not open a browser (xdg-open failed); open the link above") }
            } catch {
                Output.printError("could not open a browser (\(error)); open the link above")
            }
        }
    }
}

/// `plexus ui --json`: the whole link and when it stops working.
private struct PanelLink: Encodable {
    let url: String
    let expiresMs: Int64

    enum CodingKeys: String, CodingKey { case url, expiresMs = "expires_ms" }
}
