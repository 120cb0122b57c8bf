import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// SysfsWriter on fixture trees whose links are relative, as the kernel makes them.
@Suite struct SysfsWriterTests {
    /// Recovery repeats a create step whose write may already have happened: the kernel then answers EEXIST,
    /// and the device it finds must count as created only when it is this type on this parent.
    @Test func aRepeatedCreateOfTheSameMdevSucceedsAndAnotherParentOrTypeIsRefused() throws {
        let host = try TestHost()
        let writer = SysfsWriter(paths: host.paths, os: SimulatedKernel(tree: host.tree))
        let id = uuid("3f0c2a4e-7b1d-4c8e-9a2f-6d5e4c3b2a10")
        try writer.createMdev(id, parent: "mtty", type: "mtty-2")
        try writer.createMdev(id, parent: "mtty", type: "mtty-2")
        #expect(try host.inventory().vgpus.map(\.uuid) == [id], "still one device")

        let otherType = #expect(throws: VGPUError.self) { try writer.createMdev(id, parent: "mtty", type: "mtty-1") }
        #expect(otherType?.kind == .invalidInput)
        let otherParent = #expect(throws: VGPUError.self) { try writer.createMdev(id, parent: "mdpy", type: "mdpy-vga") }
        #expect(otherParent?.kind == .invalidInput)
        #expect(otherParent?.message.contains("mdpy") == true)
    }
}
