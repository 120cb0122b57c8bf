import VGPUCore
import VGPUHost

/// mdevctl's callouts around a use case: pre (may refuse: nothing changes), the action, post, notifiers. Only
/// for mdev vGPUs: mdevctl's scripts know nothing of vendor-specific VFIO VFs.
extension Session {
    var callouts: Callouts { Callouts(paths: environment.paths, os: environment.os) }

    func withCallouts(_ action: Callouts.Action, _ definition: Definition, _ body: () throws -> Void) throws {
        guard definition.layout == .mdev else { return try body() }
        let device = Callouts.Device(definition)
        let handler: Callouts.Run?
        do {
            handler = try callouts.pre(action, device)
        } catch {
            _ = callouts.notify(action, device, state: .none)
            throw error
        }
        if let message = handler?.message, !message.isEmpty { Console.error(message + "\n") }
        var succeeded = false
        defer {
            if let post = callouts.post(action, device, succeeded: succeeded, handler: handler), !post.message.isEmpty {
                Console.error(post.message + "\n")
            }
            _ = callouts.notify(action, device, state: succeeded ? .success : .failure)
        }
        try body()
        succeeded = true
    }

    /// What mdevctl tells the scripts about a running vGPU it did not read from a definition: type and parent
    /// from sysfs, start manual, no attributes.
    func runningDevice(_ vgpu: VGPU) -> Definition {
        Definition(uuid: vgpu.uuid, parent: vgpu.parent, type: vgpu.type, start: .manual, layout: vgpu.layout)
    }
}
