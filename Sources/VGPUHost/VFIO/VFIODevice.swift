#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// One mdev's VFIO device, opened the way QEMU opens it: a container (/dev/vfio/vfio) with the type1v2 IOMMU,
/// the vGPU's group (/dev/vfio/<group>) attached to it, and the device fd the group hands out for the UUID.
/// Every call goes through `SystemCalls`. While it is open nobody else (QEMU included) can open the group.
public final class VFIODevice: @unchecked Sendable {
    public let uuid: DeviceUUID
    public let group: Int
    let os: SystemCalls
    let groupPath: String
    private var descriptors: [Int32] = []  // container, group, device: closed in reverse
    private let device: Int32

    /// - Parameter devVFIO: the directory holding `vfio` and the group nodes (`/dev/vfio` on a host).
    public init(uuid: DeviceUUID, group: Int, devVFIO: String = "/dev/vfio", os: SystemCalls) throws {
        self.uuid = uuid
        self.group = group
        self.os = os
        groupPath = Paths.join(devVFIO, "\(group)")
        var opened: [Int32] = []
        do {
            try Self.open(uuid: uuid, groupPath: groupPath, containerPath: Paths.join(devVFIO, "vfio"), os: os, into: &opened)
        } catch {
            for fd in opened.reversed() { os.closeDescriptor(fd) }
            if let error = error as? OSError { throw Self.hostError(error, uuid: uuid) }
            throw error
        }
        descriptors = opened
        device = opened[2]
    }

    /// Appends each descriptor as it is opened, so the caller can close what a failure left open.
    private static func open(uuid: DeviceUUID, groupPath: String, containerPath: String, os: SystemCalls, into opened: inout [Int32]) throws {
        let container = try os.openDevice(containerPath)
        opened.append(container)
        let version = try os.ioctl(container, VFIOABI.getAPIVersion, value: 0, path: "\(containerPath) VFIO_GET_API_VERSION")
        guard version == VFIOABI.apiVersion else {
            throw VGPUError(.host, "\(containerPath) speaks VFIO API version \(version), vgpuctl knows \(VFIOABI.apiVersion)", fix: "use a kernel with the VFIO v2 migration uAPI (5.18 or later)")
        }
        guard try os.ioctl(container, VFIOABI.checkExtension, value: VFIOABI.type1v2IOMMU, path: "\(containerPath) VFIO_CHECK_EXTENSION") == 1 else {
            throw VGPUError(.host, "\(containerPath) offers no type1v2 IOMMU", fix: "load it: modprobe vfio_iommu_type1")
        }
        let groupFD = try openGroup(groupPath, uuid: uuid, os: os)
        opened.append(groupFD)
        var status = VFIOABI.groupStatus()
        try call(os, groupFD, VFIOABI.groupGetStatus, &status, "\(groupPath) VFIO_GROUP_GET_STATUS")
        guard VFIOABI.readU32(status, at: 4) & VFIOABI.groupFlagsViable != 0 else {
            throw VGPUError(.host, "IOMMU group \(groupPath) of vGPU \(uuid) is not viable (a device in it is bound to a non-VFIO driver)", fix: "unbind the group's other devices from their host drivers")
        }
        var containerFD = VFIOABI.u32(UInt32(bitPattern: container))
        try call(os, groupFD, VFIOABI.groupSetContainer, &containerFD, "\(groupPath) VFIO_GROUP_SET_CONTAINER")
        _ = try os.ioctl(container, VFIOABI.setIOMMU, value: VFIOABI.type1v2IOMMU, path: "\(containerPath) VFIO_SET_IOMMU")
        var name = Array(uuid.description.utf8) + [0]
        opened.append(try call(os, groupFD, VFIOABI.groupGetDeviceFD, &name, "\(groupPath) VFIO_GROUP_GET_DEVICE_FD \(uuid)"))
    }

    /// An ioctl whose argument is the byte image in `buffer`, which the kernel may fill in.
    @discardableResult
    static func call(_ os: SystemCalls, _ fd: Int32, _ request: UInt, _ buffer: inout [UInt8], _ what: String) throws(OSError) -> Int32 {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: buffer.count, alignment: 8)
        defer { pointer.deallocate() }
        pointer.copyMemory(from: buffer, byteCount: buffer.count)
        let result = try os.ioctl(fd, request, pointer, path: what)
        buffer = Array(UnsafeRawBufferPointer(start: pointer, count: buffer.count))
        return result
    }

    deinit { close() }

    /// Closes the device, the group and the container; the kernel resets the device's migration state.
    public func close() {
        for fd in descriptors.reversed() { os.closeDescriptor(fd) }
        descriptors.removeAll()
    }

    private static func openGroup(_ path: String, uuid: DeviceUUID, os: SystemCalls) throws -> Int32 {
        let result: Result<Int32, OSError> = Result { () throws(OSError) -> Int32 in try os.openDevice(path) }
        switch result {
        case .success(let fd): return fd
        case .failure(let error) where error.errno == EBUSY:
            throw VGPUError(.busy, "vGPU \(uuid) is in use: \(path) is already open (a QEMU, or another vgpuctl)",
                            fix: "stop the process that holds it (for a QEMU, shut its domain down), then retry")
        case .failure(let error): throw error
        }
    }

    static func hostError(_ error: OSError, uuid: DeviceUUID) -> VGPUError {
        if error.operation == .openDevice && error.errno == ENOENT {
            return VGPUError(.host, "\(error.path) does not exist (vGPU \(uuid))", fix: "load VFIO: modprobe vfio vfio_iommu_type1 (and check the vGPU still exists)")
        }
        return VGPUError(.host, "VFIO call failed for vGPU \(uuid): \(error)", fix: "see the kernel log (dmesg) for the driver's reason")
    }

    // MARK: migration features

    /// The device's migration flags, or nil when its driver does not implement migration (ENOTTY).
    public func migrationFlags() throws -> VFIOMigrationFlags? {
        var buffer = VFIOABI.feature(VFIOABI.featureMigration, VFIOABI.featureGet, payload: VFIOABI.migrationFlagsPayload())
        do { try Self.call(os, device, VFIOABI.deviceFeature, &buffer, "vGPU \(uuid) VFIO_DEVICE_FEATURE_MIGRATION") } catch {
            if error.errno == ENOTTY { return nil }
            throw Self.hostError(error, uuid: uuid)
        }
        return VFIOMigrationFlags(rawValue: VFIOABI.readU64(buffer, at: VFIOABI.payloadOffset))
    }

    public func state() throws -> VFIOMigrationState {
        let reply = try feature(VFIOABI.featureMigDeviceState, VFIOABI.featureGet, VFIOABI.migrationStatePayload(0), "VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE get")
        let raw = VFIOABI.readU32(reply, at: VFIOABI.payloadOffset)
        guard let state = VFIOMigrationState(rawValue: raw) else {
            throw VGPUError(.host, "vGPU \(uuid) reports migration state \(raw), which the uAPI does not define", fix: "")
        }
        return state
    }

    /// Asks the driver to go to `target` (it walks the kernel's path there in one call). Returns the data fd the
    /// transition opened (the saving stream in PRE_COPY/STOP_COPY, the loading one in RESUMING), if any.
    @discardableResult
    public func setState(_ target: VFIOMigrationState) throws -> Int32? {
        let reply = try feature(VFIOABI.featureMigDeviceState, VFIOABI.featureSet, VFIOABI.migrationStatePayload(target.rawValue), "VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE set \(target)")
        let fd = Int32(bitPattern: VFIOABI.readU32(reply, at: VFIOABI.payloadOffset + 4))
        return fd >= 0 ? fd : nil
    }

    /// Reads `count` bytes at `offset` of region `index` (VFIO_DEVICE_GET_REGION_INFO gives where it starts).
    public func readRegion(_ index: UInt32, offset: UInt64, count: Int) throws -> [UInt8] {
        let start = try regionStart(index)
        do { return try os.readRegion(device, offset: start + offset, count: count, path: "vGPU \(uuid) region \(index)+\(offset)") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
    }

    public func writeRegion(_ index: UInt32, offset: UInt64, _ bytes: [UInt8]) throws {
        let start = try regionStart(index)
        do { try os.writeRegion(device, offset: start + offset, bytes, path: "vGPU \(uuid) region \(index)+\(offset)") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
    }

    private func regionStart(_ index: UInt32) throws -> UInt64 {
        var info = VFIOABI.regionInfo(index: index)
        do { try Self.call(os, device, VFIOABI.deviceGetRegionInfo, &info, "vGPU \(uuid) VFIO_DEVICE_GET_REGION_INFO \(index)") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
        return VFIOABI.readU64(info, at: 24)
    }

    /// VFIO_DEVICE_RESET: the uAPI puts a device back in RUNNING from any state, closing its data streams. The way
    /// out of RESUMING when the loaded data was refused (every arc out of RESUMING loads it again).
    public func reset() throws {
        do { _ = try os.ioctl(device, VFIOABI.deviceReset, value: 0, path: "vGPU \(uuid) VFIO_DEVICE_RESET") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
    }

    /// The driver's estimate of what STOP_COPY will yield (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE), nil if it has none.
    public func stopCopySize() -> UInt64? {
        let reply = try? feature(VFIOABI.featureMigDataSize, VFIOABI.featureGet, VFIOABI.dataSizePayload(), "VFIO_DEVICE_FEATURE_MIG_DATA_SIZE")
        return reply.map { VFIOABI.readU64($0, at: VFIOABI.payloadOffset) }
    }

    private func feature(_ index: UInt32, _ operation: UInt32, _ payload: [UInt8], _ what: String) throws -> [UInt8] {
        var buffer = VFIOABI.feature(index, operation, payload: payload)
        do { try Self.call(os, device, VFIOABI.deviceFeature, &buffer, "vGPU \(uuid) \(what)") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
        return buffer
    }

    // MARK: the migration data stream

    /// VFIO_MIG_GET_PRECOPY_INFO on a PRE_COPY data fd: (initial_bytes, dirty_bytes).
    public func precopyInfo(_ dataFD: Int32) throws -> (initial: UInt64, dirty: UInt64) {
        var info = VFIOABI.precopyInfo()
        do { try Self.call(os, dataFD, VFIOABI.migGetPrecopyInfo, &info, "vGPU \(uuid) VFIO_MIG_GET_PRECOPY_INFO") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
        return (VFIOABI.readU64(info, at: 8), VFIOABI.readU64(info, at: 16))
    }

    /// Reads what the stream has now: to its end (STOP_COPY), or to pre-copy's temporary end (ENOMSG).
    public func readAvailable(_ dataFD: Int32, chunk: Int = 1 << 16) throws -> [UInt8] {
        var data: [UInt8] = []
        while let bytes = try readChunk(dataFD, chunk), !bytes.isEmpty { data += bytes }
        return data
    }

    /// One read: nil at pre-copy's temporary end of stream (ENOMSG), empty at the stream's end.
    private func readChunk(_ dataFD: Int32, _ chunk: Int) throws -> [UInt8]? {
        let result: Result<[UInt8], OSError> = Result { () throws(OSError) -> [UInt8] in
            try os.readStream(dataFD, maxBytes: chunk, path: "vGPU \(uuid) migration data")
        }
        switch result {
        case .success(let bytes): return bytes
        case .failure(let error) where error.errno == ENOMSG: return nil
        case .failure(let error): throw Self.hostError(error, uuid: uuid)
        }
    }

    /// Feeds the destination's RESUMING stream.
    public func write(_ dataFD: Int32, _ bytes: [UInt8]) throws {
        do { try os.writeStream(dataFD, bytes, path: "vGPU \(uuid) migration data") } catch {
            throw Self.hostError(error, uuid: uuid)
        }
    }

    public func closeStream(_ dataFD: Int32) { os.closeDescriptor(dataFD) }
}

extension VFIODevice {
    /// The vGPU's VFIO device, once it is known to exist, to have an IOMMU group and to be held by no process.
    public static func openUnused(_ uuid: DeviceUUID, in inventory: Inventory, paths: HostPaths, os: SystemCalls) throws -> VFIODevice {
        guard let vgpu = inventory.vgpu(uuid) else {
            throw VGPUError(.notFound, "no vGPU with UUID \(uuid) exists", fix: "see 'vgpuctl list'")
        }
        guard let group = vgpu.iommuGroup else {
            throw VGPUError(.host, "vGPU \(uuid) has no IOMMU group (\(paths.mdevDevices)/\(uuid)/iommu_group is missing)",
                            fix: "load the VFIO mdev support (modprobe vfio_mdev on older kernels) so its group appears")
        }
        try DeviceHolders(paths: paths, os: os).refuseIfHeld(vgpu)
        return try VFIODevice(uuid: uuid, group: group, devVFIO: Paths.join(paths.root, "dev/vfio"), os: os)
    }
}
