import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import VGPUApp
import VGPUCore

/// The entry point: our own errors exit with their documented codes (2 bad config, 5 another vgpud runs, ...).
do {
    let command = try VGPUD.parse()
    try await command.start()
    exit(0)
} catch let error as VGPUError {
    Console.error("vgpud: \(error)\n")
    exit(error.exitCode)
} catch {
    let code = VGPUD.exitCode(for: error)
    if code == .validationFailure {
        let message = VGPUD.fullMessage(for: error)
        Console.error((message.hasPrefix("Error: ") ? "vgpud: " + message.dropFirst("Error: ".count) : message) + "\n")
        exit(VGPUError.exitCodes[.invalidInput]!)
    }
    if code == .success { VGPUD.exit(withError: error) }
    Console.error("vgpud: \(error)\n")
    exit(1)
}
