import Foundation
import PlexusClient
import PlexusCore
import Testing

/// The web panel in a real browser: headless Chromium (Debian's `chromium`) driven by
/// Playwright (PyPI) through `Tests/interop/panel_browser.py`, against two real nodes with
/// real workers. Node B publishes (also while A's feed page is open) and serves `echo` and
/// `slow`; the browser signs in to node A. Screenshots of every page at 1280 and 400 px
/// land in `.build/panel-screenshots/`.
@Suite(.serialized) struct PanelBrowserTests {
    static let script = PythonPeer.interopScript("panel_browser.py")
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/panel-screenshots")
    static let injections = ["<script>window.__xss=1</script>", "\"><img src=x onerror=\"window.__xss=2\">", "javascript:window.__xss=3"]

    /// The checks the script must report, every one passed.
    static let expected: Set<String> = [
        "anonymous_refused", "login_works", "cookie_flags", "cookie_hidden_from_script", "login_link_once", "login_link_expires",
        "every_control_named", "injection_text_shown", "injection_inert_feed", "entry_page", "injection_inert_entry", "live_entry",
        "injection_inert_live", "idle_no_requests", "task_from_form_completes", "cancel_works", "csrf_missing_refused",
        "csrf_wrong_refused", "csrf_right_works", "form_without_session_refused", "foreign_host_refused", "own_host_works",
        "foreign_origin_refused", "token_not_in_pages", "logout", "no_console_errors", "no_dialogs", "script_completed", "task_form_sent", "group_page", "injection_inert_group", "store_page",
    ]

    @Test func panelInHeadlessChromium() async throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "Debian's chromium package is not installed (.ci/run installs it)")
        let b = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "echo", "--capability", "slow"], announce: true)
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress], announce: true)
        try await PythonPeer.ensure(modules: "playwright", packages: ["playwright"], home: a.directory.path)
        let bID = try await b.client.identity().agentID
        let workers = try ["echo": "cat", "slow": "sleep 120"].map { capability, command in
            let process = Process()
            process.executableURL = PlexusBinary.url
            process.arguments = ["worker", "--data", b.directory.path, "--capability", capability, "--exec", command]
            process.environment = childEnvironment(home: b.directory.path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        defer { for worker in workers where worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

        for node in [a, b] { _ = try await node.client.subscribe("panel") }
        // Mesh content that must render inert, replicated from B to A before the pages load.
        var published: [EntryID] = []
        for text in Self.injections {
            published.append(try await b.client.publish(PublishRequest(topic: "panel", content: .object(["text": .string(text)]))).id)
        }
        try await MeshTests.eventually("A holds B's entries and knows B") {
            for id in published { _ = try await a.client.entry(id) }
            return try await a.client.agent(bID).record.capabilities.skills.contains("echo")
        }

        // A group with a claim (sealed at rest, opened for the page), a blob and a policy, so
        // the group and store pages show real data.
        let group = try await a.client.createGroup(GroupCreateRequest(name: "panel-lab"))
        _ = try await a.client.publish(group: group.id.description, PublishRequest(type: "claim", content: .object(["text": .string("claim " + Self.injections[0])])))
        _ = try await a.client.putBlob(Data(repeating: 7, count: 4096))
        _ = try await a.client.addRetentionPolicy(RetentionPolicyRequest(topic: "panel", maxCount: 1000))

        try? FileManager.default.removeItem(at: Self.screenshots)
        let login = try await a.client.panelLogin()
        let short = try await a.client.panelLogin(ttlMs: 1000)
        let config: [String: Any] = [
            "a": a.apiAddress, "b": b.apiAddress, "a_token": a.token, "b_token": b.token, "b_id": bID.description,
            "login": a.client.panelURL(login), "short_login": a.client.panelURL(short), "short_expires_ms": short.expiresMs,
            "shots": Self.screenshots.path, "chromium": browser, "group": group.id.description,
        ]
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let run = try await PythonPeer.run(script: Self.script, [arguments], home: a.directory.path, timeout: .seconds(300))
        #expect(run.status == 0, "panel_browser.py failed: \(run.stderr.suffix(3000))")
        let reported = Set(run.json.keys.filter { !$0.hasPrefix("page ") })
        #expect(reported == Self.expected, "missing: \(Self.expected.subtracting(reported).sorted()); unexpected: \(reported.subtracting(Self.expected).sorted())")
        for (name, value) in run.json.sorted(by: { $0.key < $1.key }) {
            let pair = value as? [Any]
            #expect(pair?.first as? Bool == true, "\(name): \(pair?.last ?? "no result")")
        }
        // Every page was checked at both widths.
        #expect(run.json.keys.filter { $0.hasPrefix("page ") }.count == 26)
        // The task sent from A's form was received and answered on B.
        let received = try await b.client.tasks(limit: 10, role: .worker)
        #expect(received.contains { $0.capability == "echo" && $0.state == .completed }, "B's received tasks: \(received.map(\.state))")
    }
}
