#if canImport(Glibc)
import Glibc
#endif
import VGPUCore
import VGPUHost

/// Counts of hook runs that read the host (acted, or refused) and their total latency, in `<root>/run/vgpuctl/hook-stats`
/// (`invocations N` / `latency_ms_sum X` lines), for vgpud's metrics. Best effort: a failure here never
/// changes what the hook did.
public struct HookStatistics {
    public let environment: Environment

    public init(environment: Environment) { self.environment = environment }

    public var path: String { Paths.join(environment.paths.runDirectory, "hook-stats") }

    public func read() -> (invocations: Int, latencyMilliseconds: Double) {
        var invocations = 0, latency = 0.0
        for line in ((try? environment.os.read(path)) ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2 else { continue }
            if fields[0] == "invocations" { invocations = Int(fields[1]) ?? 0 }
            if fields[0] == "latency_ms_sum" { latency = Double(fields[1]) ?? 0 }
        }
        return (invocations, latency)
    }

    public func record(milliseconds: Double) {
        let (invocations, latency) = read()
        try? environment.os.makeDirectories(environment.paths.runDirectory, mode: environment.paths.directoryMode)
        try? environment.os.replaceAtomically(path, with: "invocations \(invocations + 1)\nlatency_ms_sum \(latency + milliseconds)\n")
    }
}
