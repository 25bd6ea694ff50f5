/// One condition a task sets on the agent that runs it (DESIGN §8), written as text:
///
/// - `cpu_cores>=8`, `ram_mb>=16000` — numbers are "at least" (`=` means the same);
/// - `device=gpu` — a device of that type (types match exactly);
/// - `gpu.vram_gb>=24` — a device of that type with a numeric property at least that;
/// - `gpu.model~4090` — a device of that type whose model contains the text (any case);
/// - `skill=summarize`, `tool=web_search` — offered (any case);
/// - `label.region=eu` — a label with that value.
public enum Requirement: Sendable, Equatable, CustomStringConvertible {
    case cpuCores(Int)
    case ramMB(Int)
    case device(type: String)
    case deviceProperty(type: String, property: String, atLeast: Double)
    case deviceModel(type: String, contains: String)
    case offers(String)
    case label(key: String, value: String)

    /// Reads one requirement; `invalidArgument` with the accepted forms otherwise.
    public static func parse(_ text: String) throws(PlexusError) -> Requirement {
        let forms = "cpu_cores>=N, ram_mb>=N, device=TYPE, TYPE.PROPERTY>=N, TYPE.model~TEXT, skill=NAME, tool=NAME, label.KEY=VALUE"
        func fail() -> PlexusError {
            PlexusError(.invalidArgument, "cannot read the requirement '\(text.prefix(100))'; forms: \(forms)")
        }
        if let range = text.range(of: "~") {
            let left = text[..<range.lowerBound].split(separator: ".", maxSplits: 1).map(String.init)
            let value = String(text[range.upperBound...])
            guard left.count == 2, left[1] == "model", !left[0].isEmpty, !value.isEmpty else { throw fail() }
            return .deviceModel(type: left[0], contains: value)
        }
        let separator = text.range(of: ">=") ?? text.range(of: "=")
        guard let separator else { throw fail() }
        let key = String(text[..<separator.lowerBound]).trimmingCharacters(in: .whitespaces)
        let value = String(text[separator.upperBound...]).trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, !value.isEmpty else { throw fail() }
        switch key {
        case "cpu_cores":
            guard let number = Int(value) else { throw fail() }
            return .cpuCores(number)
        case "ram_mb":
            guard let number = Int(value) else { throw fail() }
            return .ramMB(number)
        case "device": return .device(type: value)
        case "skill", "tool": return .offers(value)
        default:
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw fail() }
            if parts[0] == "label" { return .label(key: parts[1], value: value) }
            guard let number = Double(value) else { throw fail() }
            return .deviceProperty(type: parts[0], property: parts[1], atLeast: number)
        }
    }

    /// Whether an agent's record meets this requirement.
    public func isMet(by record: AgentRecord) -> Bool {
        let resources = record.capabilities.resources
        switch self {
        case .cpuCores(let count): return (resources.cpuCores ?? 0) >= count
        case .ramMB(let megabytes): return (resources.ramMB ?? 0) >= megabytes
        case .device(let type): return resources.devices.contains { $0.type == type }
        case .deviceProperty(let type, let property, let minimum):
            return resources.devices.contains { $0.type == type && ($0.properties[property] ?? -.infinity) >= minimum }
        case .deviceModel(let type, let text):
            return resources.devices.contains { $0.type == type && ($0.model?.lowercased().contains(text.lowercased()) ?? false) }
        case .offers(let name): return record.offers(name)
        case .label(let key, let value): return record.labels[key] == value
        }
    }

    public var description: String {
        switch self {
        case .cpuCores(let count): "cpu_cores>=\(count)"
        case .ramMB(let megabytes): "ram_mb>=\(megabytes)"
        case .device(let type): "device=\(type)"
        case .deviceProperty(let type, let property, let minimum): "\(type).\(property)>=\(minimum)"
        case .deviceModel(let type, let text): "\(type).model~\(text)"
        case .offers(let name): "skill=\(name)"
        case .label(let key, let value): "label.\(key)=\(value)"
        }
    }
}
