// vgpu-layout-import FILE [LABEL]: reads NVIDIA vgpu-device-manager's config file and prints the layout LABEL
// selects as JSON (LayoutImportReply). vgpuctl runs it for `apply --from-vgpu-device-manager FILE LABEL`: the YAML
// parser (Yams) needs all of Foundation, which vgpuctl itself does not link (see README, Declared layouts).
// Installed in /usr/libexec/vgpuctl; not meant to be run by hand. Exit status: 0, or the refusal's vgpuctl exit code.
import Foundation
import VGPUCore
import VGPUImport

func reply(_ value: LayoutImportReply, status: Int32) -> Never {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"kind":"internal","message":"could not encode the reply","fix":""}}"#.utf8)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard (1...2).contains(arguments.count) else {
    FileHandle.standardError.write(Data("usage: vgpu-layout-import FILE [LABEL] (run by 'vgpuctl apply --from-vgpu-device-manager FILE LABEL')\n".utf8))
    exit(2)
}
let file = arguments[0]
do {
    let text: String
    do {
        text = try String(contentsOfFile: file, encoding: .utf8)
    } catch {
        let reason = (error as NSError).localizedDescription
        throw VGPUError(.notFound, "cannot read vgpu-device-manager config \(file): \(reason)",
                        fix: "give the path of its config.yaml (version: v1, vgpu-configs:)")
    }
    guard arguments.count == 2 else { throw try VGPUDeviceManagerConfig.missingLabel(text, file: file) }
    reply(LayoutImportReply(layout: try VGPUDeviceManagerConfig.parse(text, file: file, label: arguments[1])), status: 0)
} catch let error as VGPUError {
    reply(LayoutImportReply(error: error), status: error.exitCode)
} catch {
    reply(LayoutImportReply(error: VGPUError(.internalError, "reading \(file): \(error)")), status: 1)
}
