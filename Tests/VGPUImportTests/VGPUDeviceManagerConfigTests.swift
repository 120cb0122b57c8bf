import Testing
import VGPUCore
@testable import VGPUImport

/// NVIDIA vgpu-device-manager's config file read into DeclaredLayouts. The examples are ours, written in its format
/// the way its own examples are (labels per type, custom labels with indices, a `default` label of filtered entries).
@Suite struct VGPUDeviceManagerConfigTests {
    typealias Entry = DeclaredLayout.Entry
    typealias TC = DeclaredLayout.TypeCount

    /// Modelled on its per-GPU-model example: a label per type, then custom labels by index.
    static let a10Host = """
        version: v1
        vgpu-configs:
          # every GPU alike
          A10-4C:
            - devices: all
              vgpu-devices:
                "A10-4C": 6

          A10-24Q:
            - devices: "all"
              vgpu-devices: {A10-24Q: 1}

          # custom: GPU 0 small, GPUs 1 and 2 large
          split:
            - devices: [0]
              vgpu-devices:
                "A10-2Q": 12
            - devices:
                - 1
                - 2
              vgpu-devices:
                A10-8C: 3

          # several types on one GPU, in the order written
          mixed:
            - devices: [3]
              vgpu-devices:
                A10-8Q: 1
                A10-4Q: 2
                A10-2Q: 4

          # no vGPUs on GPU 1
          clear-1:
            - devices: [1]
              vgpu-devices: {}
        """

    /// Modelled on its `default` label: one entry per GPU model, chosen by PCI ID.
    static let mixedModels = """
        version: v1
        vgpu-configs:
          default:
            - device-filter: "0x20B510DE"
              devices: all
              vgpu-devices:
                A100D-40C: 2
            - device-filter: ["0x26B910DE", "0x26b510de:0x169D10DE"]
              devices: all
              vgpu-devices:
                L40S-24Q: 2
          mig:
            - device-filter:
                - "0x20B510DE"
              devices: [0, 1]
              vgpu-devices:
                A100D-3-40C: 2
          'filtered-empty':
            - device-filter: ""
              devices: all
              vgpu-devices:
                A100D-1-10CME: 1
        """

    // MARK: - Mapping

    @Test func labelsWithAllAndIndicesMapToTheirEntries() throws {
        let file = "a10.yaml"
        #expect(try VGPUDeviceManagerConfig.parse(Self.a10Host, file: file, label: "A10-4C") == DeclaredLayout(
            name: "A10-4C", entries: [Entry(gpus: .all, vgpus: [TC(type: "A10-4C", count: 6)], origin: "a10.yaml:5")]))
        #expect(try VGPUDeviceManagerConfig.parse(Self.a10Host, file: file, label: "A10-24Q") == DeclaredLayout(
            name: "A10-24Q", entries: [Entry(gpus: .all, vgpus: [TC(type: "A10-24Q", count: 1)], origin: "a10.yaml:10")]))
        #expect(try VGPUDeviceManagerConfig.parse(Self.a10Host, file: file, label: "split") == DeclaredLayout(
            name: "split", entries: [
                Entry(gpus: .indices([0]), vgpus: [TC(type: "A10-2Q", count: 12)], origin: "a10.yaml:15"),
                Entry(gpus: .indices([1, 2]), vgpus: [TC(type: "A10-8C", count: 3)], origin: "a10.yaml:18"),
            ]))
        #expect(try VGPUDeviceManagerConfig.parse(Self.a10Host, file: file, label: "mixed") == DeclaredLayout(
            name: "mixed", entries: [Entry(gpus: .indices([3]),
                                           vgpus: [TC(type: "A10-8Q", count: 1), TC(type: "A10-4Q", count: 2), TC(type: "A10-2Q", count: 4)],
                                           origin: "a10.yaml:26")]))
        #expect(try VGPUDeviceManagerConfig.parse(Self.a10Host, file: file, label: "clear-1") == DeclaredLayout(
            name: "clear-1", entries: [Entry(gpus: .indices([1]), vgpus: [], origin: "a10.yaml:34")]))
    }

    @Test func deviceFiltersAsAStringOrAListMapToOneSpelling() throws {
        let file = "models.yaml"
        #expect(try VGPUDeviceManagerConfig.parse(Self.mixedModels, file: file, label: "default") == DeclaredLayout(
            name: "default", entries: [
                Entry(gpus: .all, deviceFilter: ["0x20b510de"], vgpus: [TC(type: "A100D-40C", count: 2)], origin: "models.yaml:4"),
                Entry(gpus: .all, deviceFilter: ["0x26b910de", "0x26b510de:0x169d10de"], vgpus: [TC(type: "L40S-24Q", count: 2)],
                      origin: "models.yaml:8"),
            ]))
        #expect(try VGPUDeviceManagerConfig.parse(Self.mixedModels, file: file, label: "mig") == DeclaredLayout(
            name: "mig", entries: [Entry(gpus: .indices([0, 1]), deviceFilter: ["0x20b510de"],
                                         vgpus: [TC(type: "A100D-3-40C", count: 2)], origin: "models.yaml:13")]))
        // An empty filter is no filter, as vgpu-device-manager reads it.
        #expect(try VGPUDeviceManagerConfig.parse(Self.mixedModels, file: file, label: "filtered-empty").entries[0].deviceFilter == [])
    }

    @Test func labelsAreListedInFileOrder() throws {
        #expect(try VGPUDeviceManagerConfig.labels(Self.a10Host, file: "f") == ["A10-4C", "A10-24Q", "split", "mixed", "clear-1"])
        #expect(try VGPUDeviceManagerConfig.labels(Self.mixedModels, file: "f") == ["default", "mig", "filtered-empty"])
        let missing = try VGPUDeviceManagerConfig.missingLabel(Self.mixedModels, file: "f")
        #expect(missing.message == "no label given for f")
        #expect(missing.fix == "name one of its labels: default, mig, filtered-empty")
    }

    @Test func anchorsAndAliasesAreRead() throws {
        let text = """
            version: v1
            vgpu-configs:
              a:
                - devices: all
                  vgpu-devices: &small
                    T4-2Q: 8
              b:
                - devices: [1]
                  vgpu-devices: *small
            """
        #expect(try VGPUDeviceManagerConfig.parse(text, file: "f", label: "b").entries[0].vgpus == [TC(type: "T4-2Q", count: 8)])
    }

    /// NVIDIA's type names as its `ParseVGPUType` takes them.
    @Test(arguments: [
        ("A100-4C", VGPUTypeName.Kind.timeSliced), ("M60-0Q", .timeSliced), ("RTX6000-Ada-24Q", .timeSliced),
        ("A100DX-40C", .timeSliced), ("A100-1-5C", .migBacked), ("DC-1-24QGFX", .migBacked), ("B300X-1-34CME", .migBacked),
        ("A30-2-12CNOME", .migBacked), ("A100-7-80CMEALL", .migBacked),
    ])
    func typeNames(name: String, kind: VGPUTypeName.Kind) {
        #expect(VGPUTypeName.kind(of: name) == kind)
    }

    @Test(arguments: ["nvidia-1414", "a100-4C", "A100-4", "A100-4X", "A100-04C", "A100-0-5C", "A100-1-5CGFXX", "A100--4C",
                      "A100-4C ", "4C", "A100-1-2-5C", "A100-x1-4C"])
    func notTypeNames(name: String) {
        #expect(VGPUTypeName.kind(of: name) == nil)
    }

    // MARK: - The same layout as the native config

    /// A host of four NVIDIA GPUs, listed out of order: two A100 80GB (0x20B5), an L40S (0x26B9), an L40 (0x26B5).
    static let host: [VGPUDeviceManagerConfig.GPU] = [
        .init(address: "0000:ca:00.0", id: "0x26B510DE", subsystem: "0x169D10DE"),
        .init(address: "0000:17:00.0", id: "0x20B510DE", subsystem: "0x153310DE"),
        .init(address: "0000:65:00.0", id: "0x20b510de", subsystem: "0x153310de"),
        .init(address: "0000:b1:00.0", id: "0x26B910DE", subsystem: "0x185110DE"),
    ]

    /// What a native layout says for each example label on that host: the same vGPUs on the same GPUs, named by
    /// address (`origin` is where the vgpu-device-manager entry was written).
    @Test(arguments: [
        ("A10-4C", [Entry(gpus: .gpus(["0000:17:00.0", "0000:65:00.0", "0000:b1:00.0", "0000:ca:00.0"]),
                          vgpus: [TC(type: "A10-4C", count: 6)], origin: "a10.yaml:5")]),
        ("split", [Entry(gpus: .gpus(["0000:17:00.0"]), vgpus: [TC(type: "A10-2Q", count: 12)], origin: "a10.yaml:15"),
                   Entry(gpus: .gpus(["0000:65:00.0", "0000:b1:00.0"]), vgpus: [TC(type: "A10-8C", count: 3)], origin: "a10.yaml:18")]),
        ("mixed", [Entry(gpus: .gpus(["0000:ca:00.0"]),
                         vgpus: [TC(type: "A10-8Q", count: 1), TC(type: "A10-4Q", count: 2), TC(type: "A10-2Q", count: 4)],
                         origin: "a10.yaml:26")]),
        ("clear-1", [Entry(gpus: .gpus(["0000:65:00.0"]), vgpus: [], origin: "a10.yaml:34")]),
    ])
    func a10ExamplesResolveToTheNativeLayout(label: String, native: [Entry]) throws {
        let layout = try VGPUDeviceManagerConfig.parse(Self.a10Host, file: "a10.yaml", label: label)
        #expect(VGPUDeviceManagerConfig.resolve(layout, gpus: Self.host) == DeclaredLayout(name: label, entries: native))
    }

    @Test func filteredExamplesResolveToTheNativeLayout() throws {
        let file = "models.yaml"
        let byModel = try VGPUDeviceManagerConfig.parse(Self.mixedModels, file: file, label: "default")
        #expect(VGPUDeviceManagerConfig.resolve(byModel, gpus: Self.host) == DeclaredLayout(name: "default", entries: [
            Entry(gpus: .gpus(["0000:17:00.0", "0000:65:00.0"]), vgpus: [TC(type: "A100D-40C", count: 2)], origin: "models.yaml:4"),
            Entry(gpus: .gpus(["0000:b1:00.0", "0000:ca:00.0"]), vgpus: [TC(type: "L40S-24Q", count: 2)], origin: "models.yaml:8"),
        ]))
        // Indices count every NVIDIA GPU, the filter does not renumber them: [0, 1] with the A100 filter is GPUs 0
        // and 1 (both A100s); GPU 2, the L40S, would be index 2 whatever the filter.
        let mig = try VGPUDeviceManagerConfig.parse(Self.mixedModels, file: file, label: "mig")
        #expect(VGPUDeviceManagerConfig.resolve(mig, gpus: Self.host).entries.map(\.gpus) == [.gpus(["0000:17:00.0", "0000:65:00.0"])])
    }

    @Test func theLastEntryThatSelectsAGPUDecidesIt() throws {
        // As in its default config, where two entries share a PCI ID: it applies them in turn, so the last stays.
        let text = """
            version: v1
            vgpu-configs:
              twice:
                - device-filter: "0x20B510DE"
                  devices: all
                  vgpu-devices: {A100D-20C: 4}
                - devices: [1, 2]
                  vgpu-devices: {A100D-40C: 2}
                - device-filter: "0x26B910DE:0x000010DE"
                  devices: all
                  vgpu-devices: {L40S-48Q: 1}
            """
        let layout = try VGPUDeviceManagerConfig.parse(text, file: "t", label: "twice")
        #expect(VGPUDeviceManagerConfig.resolve(layout, gpus: Self.host) == DeclaredLayout(name: "twice", entries: [
            Entry(gpus: .gpus(["0000:17:00.0"]), vgpus: [TC(type: "A100D-20C", count: 4)], origin: "t:4"),
            Entry(gpus: .gpus(["0000:65:00.0", "0000:b1:00.0"]), vgpus: [TC(type: "A100D-40C", count: 2)], origin: "t:7"),
        ]), "the subsystem in the last filter matches no GPU: the L40S keeps the second entry")
    }

    // MARK: - Refusals

    /// Each mistake names the file and line, and says how to fix it.
    @Test(arguments: [
        ("", "f:1: the file is empty", "version: v1"),
        ("- a\n", "f:1: the file is a list, not a vgpu-device-manager config", "version: v1"),
        ("vgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: 2}\n", "f:1: the file has no `version`", "version: v1"),
        ("version: v2\nvgpu-configs: {}\n", "f:1: unknown version 'v2'", "one version"),
        ("version: 1\n", "f:1: unknown version '1'", "one version"),
        ("version: v1\n", "f:1: the file has no `vgpu-configs`", "vgpu-configs:"),
        ("version: v1\nvgpu-config:\n  a: []\n", "f:2: unknown key 'vgpu-config' at the top of the file", "version, vgpu-configs"),
        ("version: v1\nvgpu-configs: {}\n", "f:2: vgpu-configs has no labels", "each label"),
        ("version: v1\nvgpu-configs:\n  a: []\n", "f:3: label 'a' has no entries", "- devices: all"),
        ("version: v1\nvgpu-configs:\n  a: T4-8Q\n", "f:3: label 'a' is a string, but must be a list of entries", "- devices"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-device: {T4-8Q: 2}\n",
         "f:5: unknown key 'vgpu-device' in an entry of label 'a'", "devices, device-filter, vgpu-devices"),
        ("version: v1\nvgpu-configs:\n  a:\n    - vgpu-devices: {T4-8Q: 2}\n", "f:4: an entry of label 'a' has no `devices`", "devices: all"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n", "f:4: an entry of label 'a' has no `vgpu-devices`", "A100-4C: 10"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: some\n      vgpu-devices: {T4-8Q: 2}\n", "f:4: devices is 'some'", "devices: all"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: 0\n      vgpu-devices: {T4-8Q: 2}\n", "f:4: devices is '0'", "[0, 2]"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: [0, -1]\n      vgpu-devices: {T4-8Q: 2}\n",
         "f:4: devices lists '-1', which is not a GPU index", "[0, 2]"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: [\"0\"]\n      vgpu-devices: {T4-8Q: 2}\n",
         "f:4: devices lists '0', which is not a GPU index", "[0, 2]"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: 0}\n", "f:5: the count of T4-8Q is '0'", "1 to 65535"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: -2}\n", "f:5: the count of T4-8Q is '-2'", "leave the type out"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: \"2\"}\n", "f:5: the count of T4-8Q is '2'", "1 to"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: 2.5}\n", "f:5: the count of T4-8Q is '2.5'", "1 to"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: 70000}\n", "f:5: the count of T4-8Q is '70000'", "1 to"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: [T4-8Q]\n",
         "f:5: vgpu-devices is a list, but must map vGPU types to counts", "A100-4C: 10"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {nvidia-222: 2}\n",
         "f:5: 'nvidia-222' is not an NVIDIA vGPU type name", "A100-1-5C"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices:\n        A100-4C: 2\n        A100-1-5C: 1\n",
         "f:7: vgpu-devices mixes time-sliced A100-4C (line 6) and MIG-backed A100-1-5C (line 7)", "one kind"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      device-filter: \"0x20B0\"\n      vgpu-devices: {A100-4C: 2}\n",
         "f:5: device-filter '0x20B0' is not a PCI ID", "0x20B010DE"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      device-filter: \"MODEL\"\n      vgpu-devices: {A100-4C: 2}\n",
         "f:5: device-filter 'MODEL' is not a PCI ID", "lspci -nn"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      device-filter: \"0x20B010DE:0x1\"\n      vgpu-devices: {A100-4C: 2}\n",
         "f:5: device-filter '0x20B010DE:0x1' is not a PCI ID", "subsystem"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      device-filter: \"0x20B010DE:0x151F10DE:0x1\"\n      vgpu-devices: {A100-4C: 2}\n",
         "f:5: device-filter '0x20B010DE:0x151F10DE:0x1' is not a PCI ID", "0x20B010DE"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      device-filter: 0x20B010DE\n      vgpu-devices: {A100-4C: 2}\n",
         "f:5: device-filter is a number, not a PCI ID", "\"0x20B010DE\""),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      device-filter: [\"0x20B010DE\", 0x20B510DE]\n      vgpu-devices: {A100-4C: 2}\n",
         "f:5: device-filter lists a number, not a PCI ID", "quote"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: 2, T4-8Q: 1}\n",
         "f:5: 'T4-8Q' written twice in one mapping", "keep one"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n  \tvgpu-devices: {T4-8Q: 2}\n", "f:5: not valid YAML", "spaces, not tabs"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: [0\n", "f:5: not valid YAML", "indentation"),
        ("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {T4-8Q: 2}\n---\nversion: v1\n", "f:6: not valid YAML", "indentation"),
    ])
    func refusals(text: String, message: String, fix: String) {
        let error = #expect(throws: VGPUError.self) { try VGPUDeviceManagerConfig.labels(text, file: "f") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.fix.contains(fix) == true, "\(error?.fix ?? "no fix")")
    }

    @Test func anUnknownLabelListsTheLabelsThere() {
        let error = #expect(throws: VGPUError.self) { try VGPUDeviceManagerConfig.parse(Self.a10Host, file: "a10.yaml", label: "A10-8C") }
        #expect(error?.message == "a10.yaml: no label 'A10-8C' under vgpu-configs")
        #expect(error?.fix == "the labels in a10.yaml are: A10-4C, A10-24Q, split, mixed, clear-1")
    }

    @Test func aMistakeInAnotherLabelRefusesTheFile() {
        // As vgpu-device-manager does: the file is read whole.
        let text = Self.a10Host + "\n  broken:\n    - devices: all\n      vgpu-devices: {A10-4C: 0}\n"
        #expect(throws: VGPUError.self) { try VGPUDeviceManagerConfig.parse(text, file: "f", label: "split") }
    }

    /// vgpu-device-manager v0.1 (June 2022) listed bare type names under a label; it filled every GPU offering
    /// one, types dealt out in Go's map order. Recognised, and refused with the rewrite to make.
    @Test func theV01BareTypeNamesFormatIsRefusedWithTheRewrite() {
        let text = """
            version: v1
            vgpu-configs:
              default:
                - "T4-8Q"
              T4-small:
                - "T4-1Q"
                - "T4-2Q"
            """
        let error = #expect(throws: VGPUError.self) { try VGPUDeviceManagerConfig.parse(text, file: "old.yaml", label: "T4-small") }
        #expect(error?.message.hasPrefix("old.yaml:4: label 'default' lists bare vGPU types (T4-8Q): vgpu-device-manager v0.1's format") == true,
                "\(error?.message ?? "")")
        #expect(error?.fix.contains("vgpuctl types") == true)
        #expect(error?.fix.contains("vgpu-devices:") == true)
    }
}
