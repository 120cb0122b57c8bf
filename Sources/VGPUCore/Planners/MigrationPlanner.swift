/// One vGPU of a migrating domain: the device it had on the source, the one it gets on the destination.
public struct MigratingVGPU: Codable, Equatable, Sendable {
    public var sourceUUID: DeviceUUID
    public var destinationUUID: DeviceUUID
    public var type: String
    /// The destination creates it (false: one that already exists there, free and of the type, is used).
    public var created: Bool

    public init(sourceUUID: DeviceUUID, destinationUUID: DeviceUUID, type: String, created: Bool) {
        self.sourceUUID = sourceUUID
        self.destinationUUID = destinationUUID
        self.type = type
        self.created = created
    }

    enum CodingKeys: String, CodingKey {
        case sourceUUID = "source_uuid", destinationUUID = "destination_uuid", type, created
    }
}

/// What a live migration needs from vgpuctl, decided without I/O:
/// - on the source (`vgpuctl migrate`), before anything changes: does the destination offer every vGPU's
///   type with a free instance, and which UUID each vGPU gets there (its own where free, a new one where the
///   destination already has that UUID);
/// - on the destination (the hook at `migrate begin`): which vGPUs to create, and how to rename them in the
///   incoming XML where their UUID is taken here.
public enum MigrationPlanner {
    /// The source's view of the destination, from the destination libvirt's node devices.
    public struct Destination: Equatable, Sendable {
        /// Free instances per type, summed over the destination's parents.
        public var available: [String: Int]
        /// Every mdev UUID the destination has, running or only defined.
        public var existing: Set<DeviceUUID>

        public init(available: [String: Int], existing: Set<DeviceUUID>) {
            self.available = available
            self.existing = existing
        }

        public init(nodeDevices: [NodeDevice]) {
            var available: [String: Int] = [:]
            for type in nodeDevices.flatMap(\.types) { available[type.id, default: 0] += type.availableInstances }
            self.init(available: available, existing: Set(nodeDevices.compactMap(\.uuid)))
        }
    }

    /// The source's check: every mdev the domain uses, with the type its metadata (or the source's own
    /// inventory) gives, must have a free instance on the destination. Refuses (nothing has changed yet) with
    /// the types that do not fit; otherwise returns each vGPU's destination UUID, `freshUUID` supplying new ones.
    public static func check(domain: DomainDocument, source: Inventory, destination: Destination, destinationURI: String,
                             freshUUID: () -> DeviceUUID) throws -> [MigratingVGPU] {
        let name = domain.name ?? "?"
        let requests = VGPUMetadata.requests(in: domain).requests
        var devices: [MigratingVGPU] = []
        var taken = destination.existing.union(source.vgpus.map(\.uuid))
        for uuid in domain.mdevUUIDs {
            guard let type = requests.first(where: { $0.uuid == uuid })?.type ?? source.vgpu(uuid)?.type else {
                throw VGPUError(.notFound, "domain \(name) names vGPU \(uuid), whose type is unknown: it does not exist here and vgpuctl's metadata does not describe it",
                                fix: "give the domain a vGPU that exists ('vgpuctl attach UUID --vm \(name)')")
            }
            var target = uuid
            if destination.existing.contains(uuid) {
                repeat { target = freshUUID() } while taken.contains(target)
            }
            taken.insert(target)
            devices.append(MigratingVGPU(sourceUUID: uuid, destinationUUID: target, type: type, created: true))
        }
        var needed: [String: Int] = [:]
        for device in devices { needed[device.type, default: 0] += 1 }
        let short = needed.keys.sorted().filter { needed[$0]! > destination.available[$0, default: 0] }
        guard short.isEmpty else {
            let detail = short.map { type in
                destination.available[type] == nil
                    ? "type \(type) does not exist there"
                    : "\(needed[type]!) \(type) needed, \(destination.available[type]!) free"
            }.joined(separator: "; ")
            throw VGPUError(.noCapacity, "destination \(destinationURI) has no room for the vGPUs of domain \(name): \(detail); nothing was changed",
                            fix: "free instances there ('vgpuctl list' and 'vgpuctl remove' on the destination), or choose another destination")
        }
        return devices
    }

    /// What the destination does with an incoming domain.
    public struct Incoming: Equatable, Sendable {
        public var plan: Plan
        public var devices: [MigratingVGPU]
        /// Source UUID → destination UUID, only for the vGPUs whose UUID changes.
        public var renames: [DeviceUUID: DeviceUUID]
    }

    /// The destination's plan for an incoming domain (the hook at `migrate begin`): each mdev the domain names
    /// is used as it is when a vGPU with that UUID exists here, is free (`inUse` lacks it) and has the type;
    /// is created under its UUID when none exists; and is created under a new UUID (a rename in the XML)
    /// when the UUID is taken here, by a running domain or a process, or by a vGPU of another type. The type,
    /// placement hints and definition come from vgpuctl's metadata in the incoming XML. `inUse`: what this
    /// host's libvirt status files say runs; `held`: what the kernel says any process holds (on one kernel with
    /// two libvirtd, the source QEMU itself). Either makes the UUID taken, whatever the vGPU's lifetime.
    public static func incoming(_ domain: DomainDocument, inventory: Inventory, inUse running: Set<DeviceUUID>, held: HeldDevices = [:],
                                config: PlacementConfig, freshUUID: () -> DeviceUUID) throws -> Incoming {
        let name = domain.name ?? "?"
        let inUse = running.union(held.filter { !$0.value.isEmpty }.keys)
        let requests = VGPUMetadata.requests(in: domain).requests
        var host = inventory
        var steps: [Step] = [], devices: [MigratingVGPU] = [], renames: [DeviceUUID: DeviceUUID] = [:]
        for uuid in domain.mdevUUIDs {
            let existing = host.vgpu(uuid)
            guard let request = requests.first(where: { $0.uuid == uuid }) else {
                if let existing, !inUse.contains(uuid) {
                    devices.append(MigratingVGPU(sourceUUID: uuid, destinationUUID: uuid, type: existing.type, created: false))
                    continue
                }
                throw VGPUError(.notFound, "incoming domain \(name) names vGPU \(uuid), which \(existing == nil ? "does not exist here" : "is in use here"), and vgpuctl's metadata does not say its type",
                                fix: "on the source, attach the domain's vGPUs with vgpuctl ('vgpuctl attach UUID --vm \(name)') so the destination can provide them")
            }
            if let existing, !inUse.contains(uuid), existing.type == request.type {
                devices.append(MigratingVGPU(sourceUUID: uuid, destinationUUID: uuid, type: request.type, created: false))
                continue
            }
            var target = uuid
            if existing != nil {
                repeat { target = freshUUID() } while host.vgpu(target) != nil || host.definition(target) != nil || target == uuid
                renames[uuid] = target
            }
            let placement = PlacementRequest(type: request.type, count: 1, group: request.group, policy: request.policy)
            var plan: Plan
            do {
                plan = try LifecyclePlanner.create(placement, uuids: [target], inventory: host, config: config).plan
            } catch let error as VGPUError {
                throw VGPUError(error.kind, "incoming domain \(name): \(error.message)", fix: error.fix)
            }
            if let start = request.defined { plan = DefinitionPlanner.persisting(plan, start: start) }
            for step in plan.steps { host.apply(step) }
            steps += plan.steps
            devices.append(MigratingVGPU(sourceUUID: uuid, destinationUUID: target, type: request.type, created: true))
        }
        return Incoming(plan: Plan(operation: "hook migrate \(name)", steps: steps), devices: devices, renames: renames)
    }

    /// On the source after a migration succeeded: remove each migrated vGPU that still exists and delete its
    /// definition, rolled forward if interrupted (the domain is gone, so nothing is to be undone).
    public static func release(_ devices: [MigratingVGPU], inventory: Inventory) -> Plan {
        var steps: [Step] = []
        for device in devices {
            if let definition = inventory.definition(device.sourceUUID) { steps.append(.deleteDefinition(definition)) }
            if let vgpu = inventory.vgpu(device.sourceUUID) { steps.append(LifecyclePlanner.removeStep(vgpu)) }
        }
        return Plan(operation: "release after migration", steps: steps, recovery: .rollForward)
    }
}
