import PlexusCore
import Testing

/// Task requirements (DESIGN §8): numbers are "at least", device types match exactly,
/// models case-insensitively as substrings, offers and labels by name.
@Suite struct RequirementTests {
    static let record = AgentRecord(
        capabilities: Capabilities(
            skills: ["Summarize"], tools: ["web_search"],
            resources: Resources(cpuCores: 8, ramMB: 32_000, devices: [Device(type: "gpu", model: "NVIDIA RTX 4090", properties: ["vram_gb": 24])])),
        labels: ["region": "eu"])

    @Test(arguments: [
        ("cpu_cores>=8", true), ("cpu_cores>=9", false), ("cpu_cores=4", true), ("ram_mb>=32000", true), ("ram_mb>=32001", false),
        ("device=gpu", true), ("device=GPU", false), ("device=tpu", false), ("gpu.vram_gb>=24", true), ("gpu.vram_gb>=24.5", false),
        ("gpu.tflops>=1", false), ("gpu.model~rtx 40", true), ("gpu.model~a100", false), ("skill=summarize", true),
        ("tool=WEB_SEARCH", true), ("skill=translate", false), ("label.region=eu", true), ("label.region=us", false),
    ])
    func requirementsMatchAnnouncedRecords(text: String, met: Bool) throws {
        #expect(try Requirement.parse(text).isMet(by: Self.record) == met)
    }

    @Test(arguments: ["", "cpu_cores", "cpu_cores>=many", "ram_mb=", "=4", "gpu.vram_gb>=lots", "gpu~4090", "label.=x", ".x>=1"])
    func malformedRequirementsAreRefused(text: String) {
        let error = #expect(throws: PlexusError.self) { try Requirement.parse(text) }
        #expect(error?.code == .invalidArgument)
    }
}
