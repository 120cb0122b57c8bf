import Foundation
import Testing
import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// `apply --gpu-wait`: the wait for the GPUs a layout names, by `GPUPresence`'s few lookups per GPU.
@Suite struct GPUPresenceTests {
    func layout(_ gpus: [String]) -> DeclaredLayout {
        DeclaredLayout(name: "lab", entries: [.init(gpus: .gpus(gpus), vgpus: [.init(type: "nvidia-500", count: 1)], origin: "test")])
    }

    func wait(_ host: TestHost, os: SystemCalls = LiveSystemCalls(), for layout: DeclaredLayout, seconds: Double, poll: Double = 0.2,
              say: ((String) -> Void)? = nil) throws {
        try WaitForLayoutGPUs(layout, seconds: seconds, poll: poll, say: say).read(in: Environment(paths: host.paths, os: os))
    }

    @Test(arguments: [FixtureLayout.mdev, .vfio])
    func presentGPUsCostAFewLookupsAndNoWait(layout fixture: FixtureLayout) throws {
        let host = try TestHost { try FixtureHosts.large(at: $0, gpus: 2, vfsPerGPU: 4, types: 3, layout: fixture) }
        let traced = FaultInjectingOS(LiveSystemCalls(), counting: { _ in true })
        let lines = Lines()
        try wait(host, os: traced, for: layout(["0000:17:00.0", "0000:27:00.0"]), seconds: 5, say: { lines.append($0) })
        #expect(lines.all.isEmpty, "nothing to wait for")
        #expect(traced.calls.count <= 12, "a few lookups per GPU, no inventory: \(traced.calls.count) calls")
        #expect(GPUPresence(paths: host.paths, os: LiveSystemCalls()).missing(["0000:17:00.0", "0000:37:00.0", "mtty"]) == ["0000:37:00.0", "mtty"])
    }

    @Test func theWaitEndsWhenTheGPUsVFsBecomeParents() throws {
        let host = try TestHost()
        let lines = Lines()
        nonisolated(unsafe) let tree = host.tree  // only the background block uses it
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = try? tree.addPCIDevice("0000:99:00.0")
            if let vf = try? tree.addPCIDevice("0000:99:00.4", physfn: "0000:99:00.0") {
                try? tree.addMdevParent(vf, types: [MdevTypeSpec("nvidia-500", name: "NVIDIA A100-4C", available: 4)])
            }
        }
        try wait(host, for: layout(["mtty", "0000:99:00.0"]), seconds: 10, poll: 0.05, say: { lines.append($0) })
        #expect(lines.all.first == "waiting up to 10 s for GPU(s) 0000:99:00.0 to appear as vGPU parents")
        #expect(lines.all.count == 2 && lines.all[1].hasPrefix("the GPU(s) appeared after "), "\(lines.all)")
    }

    @Test func aGPUThatNeverAppearsIsNamedWhenTheDeadlinePasses() throws {
        let host = try TestHost()
        let start = Date()
        let error = #expect(throws: VGPUError.self) {
            try wait(host, for: layout(["0000:99:00.0", "mdpy"]), seconds: 0.3, poll: 0.05)
        }
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(error?.kind == .notFound)
        #expect(error?.message.contains("0000:99:00.0") == true && error?.message.contains("mdpy") == false)
        #expect(error?.fix.contains("--gpu-wait") == true)
        // 0: no wait at all; the planner refuses the missing GPU as before.
        try wait(host, for: layout(["0000:99:00.0"]), seconds: 0)
    }
}
