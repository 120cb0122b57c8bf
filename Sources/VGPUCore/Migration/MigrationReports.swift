/// The VFIO migration reports (`vgpuctl migration probe` and `selftest`): plain values, filled in by VGPUHost's
/// VFIOMigration.

/// What `vgpuctl migration probe` reports: the device's migration flags and, where it has PRE_COPY, the sizes
/// PRECOPY_INFO gives at the start of a pre-copy.
public struct MigrationProbeReport: Codable, Equatable, Sendable {
    public var uuid: String
    public var iommuGroup: Int
    /// The flag names ("STOP_COPY", "P2P", "PRE_COPY"); empty when the driver has no migration support.
    public var flags: [String]
    public var flagsValue: UInt64
    /// The state found (and left) the device in.
    public var state: String?
    /// VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: the driver's estimate of the STOP_COPY data.
    public var stopCopyLength: UInt64?
    public var precopy: Precopy?

    public init(uuid: String, iommuGroup: Int, flags: [String], flagsValue: UInt64, state: String? = nil, stopCopyLength: UInt64? = nil,
                precopy: Precopy? = nil) {
        (self.uuid, self.iommuGroup, self.flags, self.flagsValue) = (uuid, iommuGroup, flags, flagsValue)
        (self.state, self.stopCopyLength, self.precopy) = (state, stopCopyLength, precopy)
    }

    public struct Precopy: Codable, Equatable, Sendable {
        /// The states the kernel walked from RUNNING to PRE_COPY.
        public var path: [String]
        public var initialBytes: UInt64
        public var dirtyBytes: UInt64

        public init(path: [String], initialBytes: UInt64, dirtyBytes: UInt64) {
            (self.path, self.initialBytes, self.dirtyBytes) = (path, initialBytes, dirtyBytes)
        }
        enum CodingKeys: String, CodingKey { case path, initialBytes = "initial_bytes", dirtyBytes = "dirty_bytes" }
    }

    enum CodingKeys: String, CodingKey {
        case uuid, iommuGroup = "iommu_group", flags, flagsValue = "flags_value", state
        case stopCopyLength = "stop_copy_length", precopy
    }
}

/// What the diagnostic transfer between two devices did, step by step.
public struct MigrationTransferReport: Codable, Equatable, Sendable {
    public var source: String
    public var destination: String
    public var precopyInitialBytes: UInt64?
    public var precopyBytes: Int
    public var stopCopyBytes: Int
    /// The first 8 bytes of the stream, hex (a driver's magic, e.g. mtty's).
    public var streamHead: String
    public var sourceStates: [String]
    public var destinationStates: [String]
    /// With a marker (mtty only): the value written into the source's UART scratch register, and what the
    /// destination's read before (the marker's complement, written there) and after the transfer.
    public var marker: Marker?

    public init(source: String, destination: String, precopyInitialBytes: UInt64? = nil, precopyBytes: Int, stopCopyBytes: Int,
                streamHead: String, sourceStates: [String], destinationStates: [String], marker: Marker? = nil) {
        (self.source, self.destination, self.precopyInitialBytes, self.precopyBytes) = (source, destination, precopyInitialBytes, precopyBytes)
        (self.stopCopyBytes, self.streamHead, self.sourceStates, self.destinationStates) = (stopCopyBytes, streamHead, sourceStates, destinationStates)
        self.marker = marker
    }

    public struct Marker: Codable, Equatable, Sendable {
        public var written: UInt8
        public var destinationBefore: UInt8
        public var destinationAfter: UInt8

        public init(written: UInt8, destinationBefore: UInt8, destinationAfter: UInt8) {
            (self.written, self.destinationBefore, self.destinationAfter) = (written, destinationBefore, destinationAfter)
        }
        enum CodingKeys: String, CodingKey { case written, destinationBefore = "destination_before", destinationAfter = "destination_after" }
    }

    enum CodingKeys: String, CodingKey {
        case marker
        case source, destination, precopyInitialBytes = "precopy_initial_bytes", precopyBytes = "precopy_bytes"
        case stopCopyBytes = "stop_copy_bytes", streamHead = "stream_head", sourceStates = "source_states"
        case destinationStates = "destination_states"
    }
}
