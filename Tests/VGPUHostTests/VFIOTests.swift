#if canImport(Glibc)
import Glibc
#endif
import Testing
import VGPUCore
import VGPUHost

/// The uAPI numbers and struct images, checked against include/uapi/linux/vfio.h (6.12) as facts.
@Suite struct VFIOABITests {
    @Test func ioctlNumbersAreTheKernels() {
        // _IO(';', 100 + n) = 0x3b00 | (100 + n)
        #expect(VFIOABI.getAPIVersion == 0x3B64)
        #expect(VFIOABI.checkExtension == 0x3B65)
        #expect(VFIOABI.setIOMMU == 0x3B66)
        #expect(VFIOABI.groupGetStatus == 0x3B67)
        #expect(VFIOABI.groupSetContainer == 0x3B68)
        #expect(VFIOABI.groupGetDeviceFD == 0x3B6A)
        #expect(VFIOABI.deviceReset == 0x3B6F)
        #expect(VFIOABI.deviceFeature == 0x3B75)
        #expect(VFIOABI.migGetPrecopyInfo == 0x3B79)
    }

    @Test func structImages() {
        // struct vfio_device_feature + struct vfio_device_feature_mig_state: argsz 16, flags SET|2, state, fd -1
        let set = VFIOABI.feature(VFIOABI.featureMigDeviceState, VFIOABI.featureSet, payload: VFIOABI.migrationStatePayload(VFIOMigrationState.preCopy.rawValue))
        #expect(set == [16, 0, 0, 0, 2, 0, 2, 0, 6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        let get = VFIOABI.feature(VFIOABI.featureMigration, VFIOABI.featureGet, payload: VFIOABI.migrationFlagsPayload())
        #expect(get.count == 16 && VFIOABI.readU32(get, at: 0) == 16 && VFIOABI.readU32(get, at: 4) == 0x10001)
        // struct vfio_precopy_info: argsz 24, flags, initial_bytes at 8, dirty_bytes at 16
        let info = VFIOABI.precopyInfo()
        #expect(info.count == 24 && VFIOABI.readU32(info, at: 0) == 24)
        #expect(VFIOABI.groupStatus() == [8, 0, 0, 0, 0, 0, 0, 0])
        #expect(VFIOABI.readU64(VFIOABI.u64(0x0102_0304_0506_0708) + [], at: 0) == 0x0102_0304_0506_0708)
    }
}

/// The adapter against a fake kernel that behaves like the mtty sample: flags STOP_COPY|P2P|PRE_COPY, a 24-byte
/// header readable in PRE_COPY, 36 more bytes in STOP_COPY, and a destination that loads only a whole stream.
@Suite struct VFIODeviceTests {
    static let uuid = try! DeviceUUID(parsing: "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab")
    static let other = try! DeviceUUID(parsing: "7b0e1f0e-4b2f-4c1a-9d3e-0123456789ab")

    @Test func probeReportsFlagsAndPrecopySizesAndLeavesTheDeviceRunning() throws {
        let kernel = FakeVFIOKernel()
        let device = try VFIODevice(uuid: Self.uuid, group: 7, devVFIO: "/dev/vfio", os: kernel)
        let report = try VFIOMigration.probe(device)
        #expect(report.flags == ["STOP_COPY", "P2P", "PRE_COPY"] && report.flagsValue == 7)
        #expect(report.precopy?.path == ["PRE_COPY"] && report.precopy?.initialBytes == 24 && report.precopy?.dirtyBytes == 0)
        #expect(report.stopCopyLength == 60 && report.state == "RUNNING")
        #expect(kernel.states[Self.uuid.description] == .running)
        device.close()
        #expect(kernel.open.isEmpty, "every descriptor closed: \(kernel.open)")
    }

    @Test func aHeldGroupIsBusy() {
        let kernel = FakeVFIOKernel()
        kernel.busyGroups = [7]
        #expect { try VFIODevice(uuid: Self.uuid, group: 7, os: kernel) } throws: { ($0 as? VGPUError)?.kind == .busy }
        #expect(kernel.open.isEmpty)
    }

    @Test func transferMovesTheWholeStream() throws {
        let kernel = FakeVFIOKernel()
        let source = try VFIODevice(uuid: Self.uuid, group: 7, os: kernel)
        let destination = try VFIODevice(uuid: Self.other, group: 8, os: kernel)
        let report = try VFIOMigration.transfer(from: source, to: destination)
        #expect(report.precopyBytes == 24 && report.stopCopyBytes == 36 && report.precopyInitialBytes == 24)
        #expect(report.sourceStates == ["PRE_COPY", "PRE_COPY_P2P", "STOP_COPY", "STOP", "RUNNING_P2P", "RUNNING"])
        #expect(report.destinationStates == ["RUNNING_P2P", "STOP", "RESUMING", "STOP", "RUNNING_P2P", "RUNNING"])
        #expect(kernel.loaded[Self.other.description] == kernel.image(Self.uuid.description))
        #expect(kernel.states.count == 2 && kernel.states.values.allSatisfy { $0 == .running }, "both devices back to RUNNING")
    }

    @Test func theMarkerTravelsInTheDeviceState() throws {
        let kernel = FakeVFIOKernel()
        let report = try VFIOMigration.transfer(from: VFIODevice(uuid: Self.uuid, group: 7, os: kernel),
                                                to: VFIODevice(uuid: Self.other, group: 8, os: kernel), marker: 0xA5)
        #expect(report.marker?.written == 0xA5 && report.marker?.destinationBefore == 0x5A && report.marker?.destinationAfter == 0xA5)
    }

    /// mtty refuses an incomplete stream at RESUMING -> STOP, and every way out of RESUMING passes there: only
    /// VFIO_DEVICE_RESET brings the destination back (seen on the real kernel).
    @Test func aTruncatedStreamIsRefusedAndBothDevicesRunAgain() throws {
        let kernel = FakeVFIOKernel()
        let source = try VFIODevice(uuid: Self.uuid, group: 7, os: kernel)
        let destination = try VFIODevice(uuid: Self.other, group: 8, os: kernel)
        #expect { try VFIOMigration.transfer(from: source, to: destination, truncate: 4) } throws: {
            ($0 as? VGPUError)?.message.contains("refused the migration stream (56 bytes)") == true
        }
        #expect(kernel.states.count == 2 && kernel.states.values.allSatisfy { $0 == .running }, "both devices back to RUNNING")
    }

    /// Every ioctl and stream write of a transfer fails once in turn: the source is always left RUNNING and no
    /// data stream stays open.
    @Test func everyFailurePointLeavesTheSourceRunning() throws {
        let total: Int = try {
            let probe = FaultInjectingOS(FakeVFIOKernel())
            _ = try VFIOMigration.transfer(from: VFIODevice(uuid: Self.uuid, group: 7, os: probe), to: VFIODevice(uuid: Self.other, group: 8, os: probe))
            return probe.countedCalls
        }()
        #expect(total > 10)
        for index in 1...total {
            let kernel = FakeVFIOKernel()
            let os = FaultInjectingOS(kernel, failAt: index)
            do {
                let source = try VFIODevice(uuid: Self.uuid, group: 7, os: os)
                let destination = try VFIODevice(uuid: Self.other, group: 8, os: os)
                _ = try VFIOMigration.transfer(from: source, to: destination)
            } catch {}
            #expect(kernel.states[Self.uuid.description, default: .running] == .running, "failure at call \(index): \(os.calls.last!)")
            #expect(kernel.open.isEmpty, "failure at call \(index): \(kernel.open) left open")
        }
    }
}

/// A kernel with one mtty-like device per group (group 7: `VFIODeviceTests.uuid`, 8: `.other`).
final class FakeVFIOKernel: SystemCalls, @unchecked Sendable {
    var busyGroups: Set<Int> = []
    var open: [Int32: String] = [:]     // fd -> what it is: "container", "group:7", "device:<uuid>", "save:<uuid>", "load:<uuid>"
    var states: [String: VFIOMigrationState] = [:]
    /// Each device's UART scratch register (port 0: BAR0 offset 7); its state image carries it at byte 24 + 7.
    var scratch: [String: UInt8] = [:]
    func image(_ uuid: String) -> [UInt8] { var bytes = Array(UInt8(0)..<60); bytes[31] = scratch[uuid, default: 0]; return bytes }
    var loaded: [String: [UInt8]] = [:]
    private var streams: [Int32: (bytes: [UInt8], position: Int)] = [:]
    private var next: Int32 = 10
    let flags: VFIOMigrationFlags = [.stopCopy, .p2p, .preCopy]

    func read(_ path: String) throws(OSError) -> String { throw OSError(.read, path, errno: ENOENT) }
    func list(_ path: String) throws(OSError) -> [String] { [] }
    func readLink(_ path: String) throws(OSError) -> String { throw OSError(.readLink, path, errno: ENOENT) }
    func exists(_ path: String) -> Bool { false }
    func write(_ path: String, _ contents: String) throws(OSError) { throw OSError(.write, path, errno: EROFS) }
    func createFile(_ path: String, _ contents: String, mode: mode_t, sync: Bool) throws(OSError) { throw OSError(.createFile, path, errno: EROFS) }
    func mkdir(_ path: String, mode: mode_t) throws(OSError) {}
    func rename(_ from: String, _ to: String) throws(OSError) {}
    func unlink(_ path: String) throws(OSError) {}
    func fsync(_ path: String) throws(OSError) {}
    func syncFileSystem(containing path: String) throws(OSError) {}
    func lock(_ path: String, wait: Bool) throws(OSError) -> Int32? { nil }
    func unlock(_ descriptor: Int32) {}

    private func add(_ what: String) -> Int32 { next += 1; open[next] = what; return next }

    func openDevice(_ path: String) throws(OSError) -> Int32 {
        let name = String(path.split(separator: "/").last ?? "")
        if name == "vfio" { return add("container") }
        guard let group = Int(name), [7, 8].contains(group) else { throw OSError(.openDevice, path, errno: ENOENT) }
        if busyGroups.contains(group) { throw OSError(.openDevice, path, errno: EBUSY) }
        return add("group:\(group)")
    }

    func closeDescriptor(_ descriptor: Int32) { open[descriptor] = nil; streams[descriptor] = nil }

    func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32, path: String) throws(OSError) -> Int32 {
        switch request {
        case VFIOABI.getAPIVersion: return 0
        case VFIOABI.checkExtension: return value == 3 ? 1 : 0
        case VFIOABI.setIOMMU: return 0
        case VFIOABI.deviceReset:
            guard let what = open[descriptor], what.hasPrefix("device:") else { throw OSError(.ioctl, path, errno: EBADF) }
            let uuid = String(what.dropFirst("device:".count))
            states[uuid] = .running
            for (fd, stream) in open where stream.hasSuffix(":\(uuid)") && !stream.hasPrefix("device") { streams[fd] = nil }
            return 0
        default: throw OSError(.ioctl, path, errno: ENOTTY)
        }
    }

    func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, path: String) throws(OSError) -> Int32 {
        guard let what = open[descriptor] else { throw OSError(.ioctl, path, errno: EBADF) }
        switch request {
        case VFIOABI.groupGetStatus:
            argument.storeBytes(of: VFIOABI.groupFlagsViable, toByteOffset: 4, as: UInt32.self)
            return 0
        case VFIOABI.groupSetContainer: return 0
        case VFIOABI.groupGetDeviceFD:
            let name = String(cString: argument.assumingMemoryBound(to: CChar.self))
            let group = what == "group:7" ? VFIODeviceTests.uuid.description : VFIODeviceTests.other.description
            guard name == group else { throw OSError(.ioctl, path, errno: ENODEV) }
            states[name] = states[name] ?? .running
            return add("device:\(name)")
        case VFIOABI.deviceFeature:
            return try feature(String(what.dropFirst("device:".count)), argument, path)
        case VFIOABI.deviceGetRegionInfo:
            argument.storeBytes(of: UInt64(8), toByteOffset: 16, as: UInt64.self)
            argument.storeBytes(of: UInt64(0), toByteOffset: 24, as: UInt64.self)
            return 0
        case VFIOABI.migGetPrecopyInfo:
            guard what.hasPrefix("save:"), let stream = streams[descriptor] else { throw OSError(.ioctl, path, errno: EINVAL) }
            argument.storeBytes(of: UInt64(stream.bytes.count - stream.position), toByteOffset: 8, as: UInt64.self)
            argument.storeBytes(of: UInt64(0), toByteOffset: 16, as: UInt64.self)
            return 0
        default: throw OSError(.ioctl, path, errno: ENOTTY)
        }
    }

    private func feature(_ uuid: String, _ argument: UnsafeMutableRawPointer, _ path: String) throws(OSError) -> Int32 {
        let flagsField = argument.load(fromByteOffset: 4, as: UInt32.self)
        switch (flagsField & 0xFFFF, flagsField & ~0xFFFF) {
        case (VFIOABI.featureMigration, VFIOABI.featureGet):
            argument.storeBytes(of: flags.rawValue, toByteOffset: 8, as: UInt64.self)
        case (VFIOABI.featureMigDataSize, VFIOABI.featureGet):
            argument.storeBytes(of: UInt64(60), toByteOffset: 8, as: UInt64.self)
        case (VFIOABI.featureMigDeviceState, VFIOABI.featureGet):
            argument.storeBytes(of: states[uuid]!.rawValue, toByteOffset: 8, as: UInt32.self)
        case (VFIOABI.featureMigDeviceState, VFIOABI.featureSet):
            let target = VFIOMigrationState(rawValue: argument.load(fromByteOffset: 8, as: UInt32.self))!
            guard let steps = VFIOMigrationFSM.path(from: states[uuid]!, to: target, flags: flags) else { throw OSError(.ioctl, path, errno: EINVAL) }
            var fd: Int32 = -1
            for step in steps { fd = try self.step(uuid, to: step, path) ?? fd }
            argument.storeBytes(of: fd, toByteOffset: 12, as: Int32.self)
        default: throw OSError(.ioctl, path, errno: ENOTTY)
        }
        return 0
    }

    /// One arc, as mtty implements it: the saving stream holds the header in PRE_COPY, everything in STOP_COPY.
    private func step(_ uuid: String, to next: VFIOMigrationState, _ path: String) throws(OSError) -> Int32? {
        let from = states[uuid]!
        states[uuid] = next
        let saving = streams.first { open[$0.key] == "save:\(uuid)" }?.key
        switch (from, next) {
        case (.running, .preCopy): let fd = add("save:\(uuid)"); streams[fd] = (Array(image(uuid)[0..<24]), 0); return fd
        case (.preCopyP2P, .stopCopy): if let saving { streams[saving]!.bytes = image(uuid) }; return nil
        case (.stop, .stopCopy): let fd = add("save:\(uuid)"); streams[fd] = (image(uuid), 0); return fd
        case (.stop, .resuming): let fd = add("load:\(uuid)"); streams[fd] = ([], 0); return fd
        case (.resuming, .stop):
            let loading = streams.first { open[$0.key] == "load:\(uuid)" }?.value.bytes ?? loaded[uuid] ?? []
            guard loading.count == 60 else { states[uuid] = from; throw OSError(.ioctl, path, errno: EINVAL) }
            loaded[uuid] = loading
            scratch[uuid] = loading[31]
            return nil
        default: return nil
        }
    }

    func readStream(_ descriptor: Int32, maxBytes: Int, path: String) throws(OSError) -> [UInt8] {
        guard let stream = streams[descriptor] else { throw OSError(.readStream, path, errno: EBADF) }
        let end = min(stream.bytes.count, stream.position + maxBytes)
        streams[descriptor]!.position = end
        return Array(stream.bytes[stream.position..<end])
    }

    func readRegion(_ descriptor: Int32, offset: UInt64, count: Int, path: String) throws(OSError) -> [UInt8] {
        guard let what = open[descriptor], what.hasPrefix("device:"), offset == 7, count == 1 else { throw OSError(.readRegion, path, errno: EINVAL) }
        return [scratch[String(what.dropFirst("device:".count)), default: 0]]
    }

    func writeRegion(_ descriptor: Int32, offset: UInt64, _ bytes: [UInt8], path: String) throws(OSError) {
        guard let what = open[descriptor], what.hasPrefix("device:"), offset == 7, bytes.count == 1 else { throw OSError(.writeRegion, path, errno: EINVAL) }
        scratch[String(what.dropFirst("device:".count))] = bytes[0]
    }

    func writeStream(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(OSError) {
        guard streams[descriptor] != nil else { throw OSError(.writeStream, path, errno: EBADF) }
        streams[descriptor]!.bytes += bytes
    }
}
