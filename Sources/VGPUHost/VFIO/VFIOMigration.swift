import VGPUCore

/// Drives devices through the kernel's migration states, checking each request against the pure model first
/// (so an impossible one is refused with the states named, not a bare EINVAL) and recording the path walked.
public enum VFIOMigration {
    /// Reads the flags and, on a PRE_COPY device in RUNNING, enters PRE_COPY for PRECOPY_INFO and goes back to
    /// RUNNING (PRE_COPY -> RUNNING is an arc every PRE_COPY device implements; the stream is discarded).
    public static func probe(_ device: VFIODevice) throws -> MigrationProbeReport {
        var report = MigrationProbeReport(uuid: device.uuid.description, iommuGroup: device.group, flags: [], flagsValue: 0)
        guard let flags = try device.migrationFlags() else { return report }
        report.flags = flags.names
        report.flagsValue = flags.rawValue
        let state = try device.state()
        report.state = state.description
        report.stopCopyLength = device.stopCopySize()
        guard flags.contains(.preCopy), state == .running else { return report }
        let path = try self.path(device, from: .running, to: .preCopy, flags: flags)
        guard let stream = try device.setState(.preCopy) else {
            try? backToRunning(device)
            throw VGPUError(.host, "vGPU \(device.uuid) entered PRE_COPY without a data stream", fix: "the driver broke the uAPI; see dmesg")
        }
        defer { device.closeStream(stream) }
        do {
            let info = try device.precopyInfo(stream)
            report.precopy = .init(path: path.map(\.description), initialBytes: info.initial, dirtyBytes: info.dirty)
        } catch {
            try? backToRunning(device)
            throw error
        }
        try backToRunning(device)
        return report
    }

    /// Moves `source`'s state into `destination` as a migration would, on one host: source RUNNING -> PRE_COPY
    /// (read the pre-copy data) -> STOP_COPY (read the rest); destination RUNNING -> RESUMING (write it all)
    /// -> STOP (the driver loads and checks it here) -> RUNNING. The source goes back to RUNNING at the end.
    /// `truncate` drops that many bytes from the end of the stream (to prove the destination refuses it).
    /// `marker` (mtty devices only) proves the device state itself moved: see `mttyScratch`.
    public static func transfer(from source: VFIODevice, to destination: VFIODevice, truncate: Int = 0,
                                marker: UInt8? = nil) throws -> MigrationTransferReport {
        guard let marker else { return try transfer(from: source, to: destination, truncate: truncate) }
        try source.writeRegion(mttyScratch.region, offset: mttyScratch.offset, [marker])
        try destination.writeRegion(mttyScratch.region, offset: mttyScratch.offset, [~marker])
        let before = try destination.readRegion(mttyScratch.region, offset: mttyScratch.offset, count: 1)[0]
        var report = try transfer(from: source, to: destination, truncate: truncate)
        let after = try destination.readRegion(mttyScratch.region, offset: mttyScratch.offset, count: 1)[0]
        report.marker = .init(written: marker, destinationBefore: before, destinationAfter: after)
        guard after == marker else {
            throw VGPUError(.host, "vGPU \(destination.uuid) accepted the stream but its scratch register reads \(after), not the \(marker) written on \(source.uuid): the device state did not move",
                            fix: "a driver bug: report it with dmesg")
        }
        return report
    }

    /// mtty's UART scratch register (port 0: BAR0 offset 7, UART_SCR): plain storage that the migration stream
    /// carries, so a value written on the source must read back on the destination.
    public static let mttyScratch: (region: UInt32, offset: UInt64) = (VFIOABI.pciBAR0RegionIndex, 7)

    private static func transfer(from source: VFIODevice, to destination: VFIODevice, truncate: Int) throws -> MigrationTransferReport {
        guard let sourceFlags = try source.migrationFlags(), sourceFlags.contains(.stopCopy) else {
            throw VGPUError(.invalidInput, "vGPU \(source.uuid) cannot be migrated: its driver reports no VFIO migration support", fix: "use a vGPU type whose driver implements migration")
        }
        guard let destinationFlags = try destination.migrationFlags(), destinationFlags.contains(.stopCopy) else {
            throw VGPUError(.invalidInput, "vGPU \(destination.uuid) cannot receive a migration: no VFIO migration support", fix: "use a vGPU type whose driver implements migration")
        }
        var report = MigrationTransferReport(source: source.uuid.description, destination: destination.uuid.description,
                                             precopyBytes: 0, stopCopyBytes: 0, streamHead: "", sourceStates: [], destinationStates: [])
        var stream: [UInt8] = []
        var sourceState = try source.state()
        var saving: Int32?
        defer { if let saving { source.closeStream(saving) } }
        // A failure anywhere leaves the source running, as a failed migration must.
        do {
            if sourceFlags.contains(.preCopy) {
                report.sourceStates += try path(source, from: sourceState, to: .preCopy, flags: sourceFlags).map(\.description)
                saving = try source.setState(.preCopy)
                sourceState = .preCopy
                guard let fd = saving else { throw VGPUError(.host, "vGPU \(source.uuid) entered PRE_COPY without a data stream", fix: "see dmesg") }
                report.precopyInitialBytes = try source.precopyInfo(fd).initial
                stream += try source.readAvailable(fd)
                report.precopyBytes = stream.count
            }
            report.sourceStates += try path(source, from: sourceState, to: .stopCopy, flags: sourceFlags).map(\.description)
            // PRE_COPY -> STOP_COPY continues the pre-copy stream; from RUNNING, STOP_COPY opens one.
            if let fd = try source.setState(.stopCopy) {
                if let saving { source.closeStream(saving) }
                saving = fd
            }
            sourceState = .stopCopy
            guard let fd = saving else { throw VGPUError(.host, "vGPU \(source.uuid) entered STOP_COPY without a data stream", fix: "see dmesg") }
            let rest = try source.readAvailable(fd)
            report.stopCopyBytes = rest.count
            stream += rest
        } catch {
            try? backToRunning(source)
            throw error
        }
        report.sourceStates += try path(source, from: .stopCopy, to: .running, flags: sourceFlags).map(\.description)
        try backToRunning(source)
        report.streamHead = stream.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        if truncate > 0 { stream.removeLast(min(truncate, stream.count)) }
        try load(stream, into: destination, flags: destinationFlags, report: &report)
        return report
    }

    private static func load(_ stream: [UInt8], into destination: VFIODevice, flags: VFIOMigrationFlags,
                             report: inout MigrationTransferReport) throws {
        let start = try destination.state()
        report.destinationStates += try path(destination, from: start, to: .resuming, flags: flags).map(\.description)
        guard let fd = try destination.setState(.resuming) else {
            throw VGPUError(.host, "vGPU \(destination.uuid) entered RESUMING without a data stream", fix: "see dmesg")
        }
        defer { destination.closeStream(fd) }
        do {
            try destination.write(fd, stream)
            // RESUMING -> STOP is where the driver loads the state; a stream it rejects fails here.
            report.destinationStates += try path(destination, from: .resuming, to: .stop, flags: flags).map(\.description)
            try destination.setState(.stop)
        } catch {
            try? backToRunning(destination)
            throw VGPUError(.host, "vGPU \(destination.uuid) refused the migration stream (\(stream.count) bytes): \(error)",
                            fix: "source and destination must be the same vGPU type on compatible drivers")
        }
        report.destinationStates += try path(destination, from: .stop, to: .running, flags: flags).map(\.description)
        try backToRunning(destination)
    }

    /// Returns a device to RUNNING: by the state machine, and if that fails (from RESUMING with data the driver
    /// refuses, every arc fails) by VFIO_DEVICE_RESET, which the uAPI defines to end in RUNNING. If even that
    /// fails the error names the state the device is stuck in.
    static func backToRunning(_ device: VFIODevice) throws {
        do { try device.setState(.running) } catch {
            do {
                try device.reset()
                if try device.state() == .running { return }
                try device.setState(.running)
            } catch {
                let state = (try? device.state()).map(\.description) ?? "an unknown state"
                throw VGPUError(.host, "vGPU \(device.uuid) is left in \(state): returning it to RUNNING failed: \(error)",
                                fix: "retry 'vgpuctl migration probe \(device.uuid)'; if it stays stopped, remove and recreate the vGPU")
            }
        }
    }

    /// The kernel's path, or a refusal naming the states and the device's flags.
    static func path(_ device: VFIODevice, from: VFIOMigrationState, to: VFIOMigrationState, flags: VFIOMigrationFlags) throws -> [VFIOMigrationState] {
        guard let path = VFIOMigrationFSM.path(from: from, to: to, flags: flags) else {
            throw VGPUError(.invalidInput, "vGPU \(device.uuid) cannot go from \(from) to \(to) (its migration flags: \(flags))",
                            fix: "the kernel refuses this transition; see the VFIO migration uAPI")
        }
        return path
    }
}
