import ArgumentParser
import Foundation
import VGPUFixtures

/// `vgpu-fixture plan-reconcile`: times reading 500 domains' XML and planning a reconcile over 256 vGPUs
/// (ReconcileWorkload), median of runs. A number to print, not a test.
struct PlanReconcile: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vgpu-fixture plan-reconcile",
                                                    abstract: "Time the reconcile planner on a generated 500-domain, 256-vGPU host.")

    @Option(help: "Domains.") var domains = 500
    @Option(help: "Running vGPUs.") var vgpus = 256
    @Option(help: "Timed runs (after one warm-up).") var runs = 20

    func run() throws {
        let (inventory, documents) = try ReconcileWorkload.make(domains: domains, vgpus: vgpus)
        var report = try ReconcileWorkload.plan(inventory, documents)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            report = try ReconcileWorkload.plan(inventory, documents)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let bytes = documents.reduce(0) { $0 + $1.xml.utf8.count }
        print(String(format: "reconcile plan, %d domains (%.1f MB of XML), %d vGPUs: median %.1f ms, max %.1f ms (%d runs); %d actions, %d orphans, %d problems",
                     domains, Double(bytes) / 1e6, vgpus, times[times.count / 2], times.last!, runs,
                     report.actions.count, report.orphans.count, report.problems.count))
    }
}
