import Foundation
import PackagePlugin

/// Writes vgpuctl's `--help` text for the fast path at build time, from the commands' declarations (through the
/// vgpuctl-help-text tool), so the fast path never carries a copy to keep in step.
@main
struct HelpTextPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let tool = try context.tool(named: "vgpuctl-help-text")
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("GeneratedHelpText.swift")
        return [.buildCommand(displayName: "Writing vgpuctl's --help text", executable: tool.url, arguments: [output.path],
                              inputFiles: [tool.url], outputFiles: [output])]
    }
}
