import Foundation
import PlexusCore
import Testing
@testable import PlexusAPI

/// The web panel's pieces that need no browser: login codes and sessions, form decoding,
/// links, charts and the templates themselves.
@Suite struct PanelTests {
    @Test func aLoginCodeOpensOneSessionOnce() throws {
        let sessions = PanelSessions()
        let code = sessions.issueCode(lifetime: .seconds(60))
        let session = try #require(sessions.redeem(code))
        #expect(sessions.session(session.id)?.csrf == session.csrf)
        #expect(sessions.redeem(code) == nil, "a code works once")
        #expect(sessions.redeem("not-a-code") == nil)
        #expect(PanelSessions.csrfMatches(session.csrf, session))
        #expect(!PanelSessions.csrfMatches(session.csrf + "x", session))
        #expect(!PanelSessions.csrfMatches(session.id, session), "the cookie is not the CSRF token")
        sessions.end(session.id)
        #expect(sessions.session(session.id) == nil)
    }

    @Test func anExpiredCodeOpensNothing() {
        let sessions = PanelSessions()
        let expired = sessions.issueCode(lifetime: .zero)
        #expect(sessions.redeem(expired) == nil)
        let fresh = sessions.issueCode(lifetime: .seconds(60))
        #expect(sessions.redeem(fresh) != nil)
    }

    @Test func codesAndSessionsAreBounded() throws {
        let sessions = PanelSessions()
        let first = sessions.issueCode(lifetime: .seconds(60))
        let later = (0..<PanelSessions.maxCodes).map { _ in sessions.issueCode(lifetime: .seconds(60)) }
        #expect(sessions.redeem(first) == nil, "the oldest code made room")
        #expect(sessions.redeem(try #require(later.last)) != nil)
        let opened = (0...PanelSessions.maxSessions).compactMap { _ in sessions.redeem(sessions.issueCode(lifetime: .seconds(60))) }
        #expect(opened.count == PanelSessions.maxSessions + 1)
        #expect(sessions.session(opened[0].id) == nil, "the oldest session made room")
        #expect(sessions.session(opened[opened.count - 1].id) != nil)
    }

    @Test func formsDecodeAsBrowsersSendThem() {
        let fields = PanelForm.decode("csrf=a%2Bb&payload=%7B%22n%22%3A+7%7D&empty=&capability=echo&capability=second")
        #expect(fields["csrf"] == "a+b")
        #expect(fields["payload"] == #"{"n": 7}"#)
        #expect(fields["empty"] == "")
        #expect(fields["capability"] == "echo", "the first of repeated names wins")
    }

    @Test func linksEncodeTheirValues() {
        #expect(Pager.url("/ui/feed", ["topic": "a b&c", "author": "", "type": "x"]) == "/ui/feed?topic=a%20b%26c&type=x")
        let pager = Pager(path: "/ui/agents", query: ["capability": "echo"], offset: 50, size: 50, total: 120)
        #expect(pager.previous == "/ui/agents?capability=echo")
        #expect(pager.next == "/ui/agents?capability=echo&offset=100")
        #expect(pager.summary == "51–100 of 120")
        let last = Pager(path: "/ui/agents", query: [:], offset: 100, size: 50, total: 120)
        #expect(last.next == nil && last.any)
    }

    @Test func sparklinesCountPerMinute() {
        let now: Int64 = 10_000_000
        let line = Sparkline(label: "in", times: [now, now - 1, now - 61_000, now - 40 * 60_000], nowMs: now)
        #expect(line.total == 3, "older than 30 minutes is left out")
        #expect(line.counts.split(separator: ",").suffix(2) == ["1", "2"])
        #expect(line.bars.last?.height == Sparkline.height)
    }

    @Test func metricsBecomeCharts() {
        let charts = PanelMetricsPage.charts("""
            # TYPE plexus_frames_total counter
            plexus_frames_total{direction="in"} 30
            plexus_frames_total{direction="out"} 12
            plexus_store_entries 5
            plexus_unrelated 1
            """)
        #expect(charts.map(\.name) == ["plexus_store_entries", "plexus_frames_total"])
        #expect(charts.last?.series.map(\.label) == ["direction=in", "direction=out"])
        #expect(charts.last?.series.first?.value == "30")
    }

    @Test func everyTemplateLoadsAndEscapes() throws {
        try PanelRenderer.checkTemplates()
        let renderer = PanelRenderer()
        for name in ["layout", "overview", "peers", "feed", "search", "entry", "forks", "agents", "agent", "tasks", "task", "groups",
                     "group", "store", "metrics", "error", "login", "signed-in", "pager", "entry-rows", "entry-head", "sparkline"] {
            #expect(renderer.has(name), "template \(name)")
        }
        #expect(renderer.asset("panel.js") != nil && renderer.asset("panel.css") != nil && renderer.asset("favicon.svg") != nil)
        #expect(renderer.asset("../openapi.json") == nil)
        let hostile = #"<script>x()</script>"><img src=x onerror="y()">'"#
        let html = renderer.html(
            "error",
            PanelPage(title: hostile, section: "/ui/feed", session: nil,
                      page: PanelGuard.ErrorModel(status: "404", code: "notFound", message: hostile, signIn: false)))
        #expect(!html.contains("<script>x") && !html.contains("<img"))
        #expect(html.contains("&lt;script&gt;x()&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=&quot;y()&quot;&gt;&#39;"))
        #expect(html.contains(#"<script src="/ui/static/panel.js" defer></script>"#), "the frame's own script is there")
    }
}
