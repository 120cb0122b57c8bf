import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import VGPUApp
import VGPUCore
import VGPUHost

/// The entry point: ArgumentParser parses and validates; our own errors exit with their documented codes.
func runMain() -> Never {
    do {
        var command = try VGPUCtl.parseAsRoot()
        try command.run()
        exit(0)
    } catch let error as VGPUError {
        Console.error("vgpuctl: \(error)\n")
        exit(error.exitCode)
    } catch {
        let code = VGPUCtl.exitCode(for: error)
        // Usage and validation errors are "invalid input" (2), like every other refusal of bad input.
        if code == .validationFailure || (code != .success && VGPUCtl.fullMessage(for: error).contains("Error:")) {
            let message = VGPUCtl.fullMessage(for: error)
            let text = message.hasPrefix("Error: ") ? "vgpuctl: " + message.dropFirst("Error: ".count) : message
            Console.error(text + "\n")
            exit(VGPUError.exitCodes[.invalidInput]!)
        }
        VGPUCtl.exit(withError: error)
    }
}

// Started through the link in /etc/libvirt/hooks/qemu.d: the hook, without the argument parser.
if let first = CommandLine.arguments.first, Paths.basename(first) == HookMain.name {
    HookMain.run(Array(CommandLine.arguments.dropFirst()))
}
runMain()
