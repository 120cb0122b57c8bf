#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// libFuzzer's driver (its own `main` is not used: SwiftPM links an executable target's entry point as `main`,
/// so each target's `@main` hands the command line to the driver here, with the input callback).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var body: ([UInt8]) -> Void = { _ in }

/// Runs libFuzzer with `test` called on every input; returns libFuzzer's exit status.
public func runFuzzer(_ test: @escaping ([UInt8]) -> Void) -> Never {
    body = test
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        body(size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size)))
        return 0
    }
    exit(status)
}

/// The input as the product reads it: files and stdin are decoded as UTF-8 with invalid bytes replaced
/// (`String(decoding:as:)`, what `SystemCalls.read` and the hook do), so valid UTF-8 is passed exactly.
public func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// A finding other than a crash: a trap, so libFuzzer saves the input as a crash reproducer.
public func finding(_ message: String) -> Never { fatalError("fuzz finding: \(message)") }

/// A refusal is fine when it is a VGPUError whose message says something (and, with `needsFix`, a fix);
/// `prefix`: what every message of this reader starts with (the file, or the document's name).
public func expectClearRefusal(_ error: any Error, prefix: String = "", needsFix: Bool = true) {
    guard let error = error as? VGPUError else { finding("a refusal that is not a VGPUError: \(error)") }
    let message = blank(error.message) ? "" : error.message
    guard !message.isEmpty, message.hasPrefix(prefix) else { finding("an unclear refusal: '\(error.message)' (expected a message starting with '\(prefix)')") }
    guard !needsFix || !blank(error.fix) else { finding("a refusal without a fix: \(error.message)") }
}

private func blank(_ text: String) -> Bool { text.unicodeScalars.allSatisfy { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" } }
