import ArgumentParser
import Foundation

/// `plexus-bench`: performance scenarios that print JSON. Not tests: they measure.
@main
struct PlexusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plexus-bench",
        abstract: "Plexus benchmarks; each scenario prints one JSON object.",
        subcommands: [
            StoreBenchmark.self, TransportBenchmark.self, GossipSimBenchmark.self, GossipLiveBenchmark.self, SyncBenchmark.self,
            APIBenchmark.self, DHTSimBenchmark.self, TasksBenchmark.self, GroupsBenchmark.self, LedgerBenchmark.self, TransportPeer.self,
            TaskWorker.self, BlobsBenchmark.self, PanelBenchmark.self, DirectBenchmark.self, DiscoveryBenchmark.self, A2ABenchmark.self, MCPBenchmark.self,
        ]
    )
}

/// Latency samples and their percentiles.
struct LatencySamples {
    private(set) var values: [Double] = []

    mutating func merge(_ other: LatencySamples) {
        values.append(contentsOf: other.values)
    }

    mutating func add(_ duration: Duration) {
        values.append(Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
    }

    /// The `p`th percentile in milliseconds (nearest rank).
    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// `lanes` callers, each calling one call after another for `seconds`; how many calls
/// completed in all. A call is told its lane and how many that lane has made before it.
func callInLanes(_ lanes: Int, for seconds: Double, _ call: @escaping @Sendable (_ lane: Int, _ count: Int) async throws -> Void) async throws -> Int {
    let end = ContinuousClock.now + .seconds(seconds)
    return try await withThrowingTaskGroup(of: Int.self) { group in
        for lane in 0..<lanes {
            group.addTask {
                var count = 0
                while ContinuousClock.now < end {
                    try await call(lane, count)
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
}

/// Prints a JSON object with sorted keys.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// CPU time (user + system) this process has used so far.
enum ProcessCPU {
    static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}

/// CPU time (user + system) process `pid` has used so far, from /proc (Linux, clock-tick
/// resolution); nil elsewhere or once it has exited.
func processCPUSeconds(pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name; utime and stime are fields 14 and 15 of the line.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Context switches (voluntary and not) of every thread of process `pid` so far, from
/// /proc (Linux); nil elsewhere. Threads that have exited are not counted.
func contextSwitches(pid: Int32) -> Int? {
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
    var total = 0
    for thread in threads {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8) else { continue }
        for line in status.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            total += Int(line.split(separator: "\t", omittingEmptySubsequences: true).last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        }
    }
    return total
}

/// Resident set size of a process in KiB, from /proc.
func residentKiB(pid: Int32, field: String = "VmRSS") -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
}

