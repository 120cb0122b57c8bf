/// The pieces of the VFIO uAPI (include/uapi/linux/vfio.h) vgpuctl uses, as of Linux 6.12. Debian 12's
/// /usr/include/linux/vfio.h is 6.1's and lacks the PRE_COPY parts (VFIO_MIGRATION_PRE_COPY,
/// VFIO_MIG_GET_PRECOPY_INFO, struct vfio_precopy_info), so every number here is computed from the kernel's
/// definitions instead of imported from C, and every struct is built as the byte image the kernel reads:
/// native byte order, the fields at the offsets the header gives them.
public enum VFIOABI {
    /// `_IO(type, nr)`: direction none, size 0 (VFIO encodes no size in its requests): `type << 8 | nr`.
    public static func io(_ type: UInt8, _ number: UInt8) -> UInt {
        let none: UInt = 0  // _IOC_NONE, in bits 30-31; the size field (bits 16-29) is 0
        return none << 30 | UInt(type) << 8 | UInt(number)
    }

    /// VFIO_TYPE (';') and VFIO_BASE.
    static let type = UInt8(ascii: ";")
    static let base: UInt8 = 100

    public static let getAPIVersion = io(type, base + 0)      // VFIO_GET_API_VERSION
    public static let checkExtension = io(type, base + 1)     // VFIO_CHECK_EXTENSION
    public static let setIOMMU = io(type, base + 2)           // VFIO_SET_IOMMU
    public static let groupGetStatus = io(type, base + 3)     // VFIO_GROUP_GET_STATUS
    public static let groupSetContainer = io(type, base + 4)  // VFIO_GROUP_SET_CONTAINER
    public static let groupGetDeviceFD = io(type, base + 6)   // VFIO_GROUP_GET_DEVICE_FD
    public static let deviceGetRegionInfo = io(type, base + 8) // VFIO_DEVICE_GET_REGION_INFO
    public static let deviceReset = io(type, base + 11)       // VFIO_DEVICE_RESET
    public static let deviceFeature = io(type, base + 17)     // VFIO_DEVICE_FEATURE
    public static let migGetPrecopyInfo = io(type, base + 21) // VFIO_MIG_GET_PRECOPY_INFO (6.2+)

    public static let apiVersion: Int32 = 0                   // VFIO_API_VERSION
    public static let type1v2IOMMU: Int32 = 3                 // VFIO_TYPE1v2_IOMMU
    public static let groupFlagsViable: UInt32 = 1 << 0       // VFIO_GROUP_FLAGS_VIABLE

    // struct vfio_device_feature.flags: the feature index in the low 16 bits, then what to do with it.
    public static let featureGet: UInt32 = 1 << 16
    public static let featureSet: UInt32 = 1 << 17
    public static let featureProbe: UInt32 = 1 << 18
    public static let featureMigration: UInt32 = 1            // VFIO_DEVICE_FEATURE_MIGRATION
    public static let featureMigDeviceState: UInt32 = 2       // VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE
    public static let featureMigDataSize: UInt32 = 9          // VFIO_DEVICE_FEATURE_MIG_DATA_SIZE

    /// `struct vfio_group_status { u32 argsz; u32 flags; }`.
    public static func groupStatus() -> [UInt8] { u32(8) + u32(0) }

    /// `struct vfio_device_feature { u32 argsz; u32 flags; u8 data[]; }` followed by the feature's payload.
    public static func feature(_ index: UInt32, _ operation: UInt32, payload: [UInt8]) -> [UInt8] {
        u32(UInt32(8 + payload.count)) + u32(index | operation) + payload
    }

    /// `struct vfio_device_feature_migration { aligned u64 flags; }`: 8 bytes, filled by the kernel.
    public static func migrationFlagsPayload() -> [UInt8] { u64(0) }
    /// `struct vfio_device_feature_mig_state { u32 device_state; s32 data_fd; }`.
    public static func migrationStatePayload(_ state: UInt32) -> [UInt8] { u32(state) + u32(UInt32(bitPattern: -1)) }
    /// `struct vfio_device_feature_mig_data_size { aligned u64 stop_copy_length; }`.
    public static func dataSizePayload() -> [UInt8] { u64(0) }
    /// `struct vfio_precopy_info { u32 argsz; u32 flags; aligned u64 initial_bytes; aligned u64 dirty_bytes; }`.
    public static func precopyInfo() -> [UInt8] { u32(24) + u32(0) + u64(0) + u64(0) }

    /// `struct vfio_region_info { u32 argsz; u32 flags; u32 index; u32 cap_offset; u64 size; u64 offset; }`;
    /// the kernel fills in size (at 16) and offset (at 24).
    public static func regionInfo(index: UInt32) -> [UInt8] { u32(32) + u32(0) + u32(index) + u32(0) + u64(0) + u64(0) }
    public static let pciBAR0RegionIndex: UInt32 = 0          // VFIO_PCI_BAR0_REGION_INDEX

    /// The payload starts after the 8-byte feature header.
    public static let payloadOffset = 8

    public static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    public static func u64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    public static func readU32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    public static func readU64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        bytes[offset..<offset + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }
}
