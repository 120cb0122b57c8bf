import Foundation
import Testing
import VGPUHost

/// The hook's bounded write (BoundedWrite.swift), through the built vgpuctl's hidden `__sysfs-write`: a write
/// that blocks (here: opening a FIFO nobody reads, standing in for `remove` of a held vGPU) is given up after the
/// bound, and the caller goes on; a write that can be made is made; the kernel's errno comes back.
@Suite struct BoundedWriteTests {
    let vgpuctl = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vgpuctl").path

    @Test func aWriteThatBlocksIsGivenUpAfterTheBound() throws {
        let host = try TestHost()
        let fifo = host.root + "/remove"
        #expect(mkfifo(fifo, 0o600) == 0)
        let started = Date()
        let error = #expect(throws: OSError.self) { try LiveSystemCalls().write(fifo, "1", bound: 0.5, executable: vgpuctl) }
        let took = Date().timeIntervalSince(started)
        #expect(error?.errno == ETIMEDOUT)
        #expect(took >= 0.5 && took < 5, "took \(took) s")
        // Let the child that was left behind finish its write (and exit): read what it wrote.
        let reader = open(fifo, O_RDONLY)
        var byte: UInt8 = 0
        #expect(read(reader, &byte, 1) == 1 && byte == UInt8(ascii: "1"))
        close(reader)
    }

    @Test func aWriteThatCanBeMadeIsMadeAndErrnosComeBack() throws {
        let host = try TestHost()
        let file = host.root + "/attribute"
        FileManager.default.createFile(atPath: file, contents: Data("0".utf8))
        try LiveSystemCalls().write(file, "1", bound: 10, executable: vgpuctl)
        #expect(host.contents("attribute") == "1")
        let error = #expect(throws: OSError.self) { try LiveSystemCalls().write(host.root + "/absent", "1", bound: 10, executable: vgpuctl) }
        #expect(error?.errno == ENOENT)
    }
}
