import ArgumentParser
import VGPUApp
import VGPUCore

/// `--wait`: every state-changing command takes it.
struct LockOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for the host lock another vgpuctl holds (0: fail at once, exit 5).", valueName: "seconds"))
    var wait: Double = Self.defaultWait
    static let defaultWait: Double = 60

    func validate() throws {
        guard wait >= 0, wait.isFinite else {
            throw VGPUError(.invalidInput, "--wait \(wait) is not a number of seconds", fix: "give 0 or more")
        }
    }
}

