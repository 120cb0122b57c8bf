#if canImport(Glibc)
import Glibc
#endif
import VGPUApp

/// Where the `--help` text written at build time (Plugins/HelpTextPlugin, at 80 columns) is what ArgumentParser
/// would print: COLUMNS unset and standard output not a terminal of another width.
enum HelpText {
    static var fits: Bool {
        guard Environment.Variables.process["COLUMNS"] == nil else { return false }
        var size = winsize()
        return ioctl(1, UInt(TIOCGWINSZ), &size) != 0 || size.ws_col == 0 || size.ws_col == 80
    }
}
