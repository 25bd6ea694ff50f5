import Testing
@testable import PlexusCore

/// RFC 3339 date-times (`expires_at`, log timestamps) against values computed independently
/// (Python's `datetime`), and the round trip through formatting.
@Suite struct InternetTimeTests {
    @Test(arguments: [
        ("2026-12-31T23:59:59Z", 1_798_761_599_000), ("1970-01-01T00:00:00Z", 0),
        ("2000-02-29T12:00:00.5+01:30", 951_820_200_500), ("1969-12-31T23:59:59.999Z", -1),
        ("2026-12-31t23:59:59.123456z", 1_798_761_599_123), ("2026-12-31 23:59:59-00:00", 1_798_761_599_000),
        // A leap second is the last millisecond of its minute.
        ("2024-06-30T23:59:60Z", 1_719_791_999_999),
    ] as [(String, Int64)])
    func readsRFC3339(text: String, milliseconds: Int64) {
        #expect(InternetTime.milliseconds(text) == milliseconds)
    }

    @Test(arguments: [
        "", "2026-12-31", "2026-12-31T23:59:59", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-12-31T24:00:00Z", "2026-12-31T23:60:00Z", "2026-12-31T23:59:61Z", "2026-12-31T23:59:59.Z",
        "2026-12-31T23:59:59+1:00", "2026-12-31T23:59:59Z ", "+2026-12-31T23:59:59Z", "2026-12-31T23:59:59+24:00",
        "٢٠٢٦-12-31T23:59:59Z",
    ])
    func refusesWhatIsNotOne(text: String) {
        #expect(InternetTime.milliseconds(text) == nil)
    }

    @Test func formattingReadsBackToTheSameMillisecond() {
        #expect(InternetTime.string(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(InternetTime.string(milliseconds: 1_798_761_599_123) == "2026-12-31T23:59:59.123Z")
        #expect(InternetTime.string(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        // Every day boundary and odd offset over four centuries, both ways.
        var value: Int64 = -2_208_988_800_000  // 1900-01-01
        while value < 10_413_792_000_000 {  // 2300-01-01
            let text = InternetTime.string(milliseconds: value)
            #expect(InternetTime.milliseconds(text) == value, "\(text)")
            value += 86_400_000 * 37 + 3_600_000 * 5 + 60_001
        }
    }
}
