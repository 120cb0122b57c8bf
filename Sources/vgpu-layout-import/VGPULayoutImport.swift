import ArgumentParser
import Foundation
import VGPUCore
import VGPUImport

/// `vgpu-layout-import FILE [LABEL]`: reads NVIDIA vgpu-device-manager's config file and prints the layout LABEL
/// selects as JSON (`LayoutImportReply`). vgpuctl runs it for `apply --from-vgpu-device-manager FILE LABEL`: the
/// YAML parser (Yams) needs all of Foundation, which vgpuctl itself does not link (README, Declared layouts).
@main
struct VGPULayoutImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vgpu-layout-import",
        abstract: "Print the layout a label of NVIDIA vgpu-device-manager's config file selects, as JSON (run by vgpuctl).",
        discussion: """
            vgpuctl runs this for 'vgpuctl apply --from-vgpu-device-manager FILE LABEL'; it is not meant to be run \
            by hand. Standard output is one JSON object: {"layout": {...}} when the file was read, or {"error": \
            {"kind", "message", "fix"}} when it was refused (a mistake in the file names its line).

            EXIT CODES: 0 the layout was printed; otherwise vgpuctl's code for the refusal: 2 a mistake in the \
            file or no LABEL given (the error lists the labels), 3 the file cannot be read, 1 an internal error.
            """)

    @Argument(help: ArgumentHelp("vgpu-device-manager's config file (version: v1, vgpu-configs:).", valueName: "file"))
    var file: String

    @Argument(help: ArgumentHelp("The label under vgpu-configs; without it, the error lists the labels.", valueName: "label"))
    var label: String?

    func run() throws {
        do {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw VGPUError(.notFound, "cannot read vgpu-device-manager config \(file): \((error as NSError).localizedDescription)",
                                fix: "give the path of its config.yaml (version: v1, vgpu-configs:)")
            }
            guard let label else { throw try VGPUDeviceManagerConfig.missingLabel(text, file: file) }
            try Self.reply(LayoutImportReply(layout: try VGPUDeviceManagerConfig.parse(text, file: file, label: label)))
        } catch let error as VGPUError {
            try Self.reply(LayoutImportReply(error: error))
            throw ExitCode(error.exitCode)
        }
    }

    static func reply(_ value: LayoutImportReply) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}
