import Testing
@testable import VGPUCore

@Suite struct HostConfigTests {
    static let example = """
        # two pools and a reserved GPU
        [groups.training]
        policy = "spread"   # one per GPU in turn
        gpus = ["0000:10:00.0", "0000:11:00.0", "0000:12:00.0"]

        [groups.default]
        policy = "pack"

        [gpus."0000:13:00.0"]
        types = ["nvidia-501"]
        heterogeneous = false
        """

    @Test func theREADMEExampleParsesIntoGroupsAndRules() throws {
        let config = try HostConfig.parse(Self.example, file: "vgpuctl.conf")
        #expect(config.groups.map(\.name) == ["training", "default"])
        #expect(config.groups[0].policy == .spread)
        #expect(config.group(of: "0000:11:00.0")?.name == "training")
        #expect(config.group(of: "0000:17:00.0")?.name == "default", "GPUs no group names fall to the catch-all")
        #expect(config.rules["0000:13:00.0"] == GPURules(enabledTypes: ["nvidia-501"], heterogeneous: false))
    }

    @Test func withoutACatchAllGroupADefaultPackGroupIsAdded() throws {
        let config = try HostConfig.parse("[groups.a]\ngpus = [\"x\"]\n", file: "f")
        #expect(config.groups.map(\.name) == ["a", "default"])
        #expect(config.groups[1].policy == .pack)
        #expect(try HostConfig.parse("", file: "f") == PlacementConfig())
    }

    /// Each mistake names the file and line, and says how to fix it.
    @Test(arguments: [
        ("[groups.a]\npolcy = \"pack\"", "f:2: unknown key 'polcy' in [groups.a]", "policy, gpus"),
        ("[groups.a]\npolicy = \"fill\"", "f:2: unknown policy 'fill'", "\"pack\""),
        ("[groups.a]\npolicy = pack", "f:2: 'pack' is not a TOML value (column 10): policy = pack", "strings are quoted"),
        ("[groups.a]\ngpus = \"x\"", "f:2: 'gpus' is a string, but must be an array of strings", "README"),
        ("[groups.a]\ngpus = [\"x\"]\n[groups.b]\ngpus = [\"y\", \"x\"]", "f:4: GPU x is in group a (line 2) and in group b", "one group"),
        ("[groups.a]\n[groups.b]\n", "f:2: groups a and b both take every GPU", "gpus list"),
        ("[groups.a]\n[groups.a]", "f:2: table [groups.a] is defined twice (first by a header on line 1) (column 1): [groups.a]", "merge"),
        ("[groups.a]\npolicy = \"pack\"\npolicy = \"spread\"", "f:3: key 'policy' is defined twice (first on line 2) (column 1): policy = \"spread\"", "keep one"),
        ("policy = \"pack\"", "f:1: 'policy' is outside any table", "[groups.NAME]"),
        ("[pools.a]", "f:1: unknown table [pools]", "[groups.NAME]"),
        ("[gpus.\"0000:10:00.0\"]\ntypes = [\"../x\"]", "f:2: type '../x' would leave its directory", "'/'"),
        ("[gpus.\"0000:10:00.0\"]\nheterogeneous = \"yes\"", "f:2: 'heterogeneous' is a string, but must be true or false", "README"),
        ("[groups.a]\ngpus = [\"x\",", "f:2: the array that starts here is not closed by the end of the file (column 8)", "still open"),
        ("[groups.a]\ngpus = []", "f:2: group a lists no GPUs", "drop the gpus key"),
        ("[groups.a\n", "f:1: the table header [groups.a is not closed", "close the table header"),
        ("[gpus.0000:10:00.0]", "f:1: the table header [gpus.0000 is not closed: ':' where ']' should be", "[gpus.\"0000:17:00.0\"]"),
        ("[groups.a]\ngpus = [\"x\", 3]", "f:2: 'gpus' holds an integer, but must be an array of strings", "quote each item"),
        ("layout = 3", "f:1: 'layout' is an integer, but must be a string", "README"),
        ("groups = \"a\"", "f:1: 'groups' is a string, but must be a table", "README"),
    ])
    func mistakesAreRefusedWithFileLineAndFix(text: String, message: String, fix: String) {
        let error = #expect(throws: VGPUError.self) { try HostConfig.parse(text, file: "f") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.fix.contains(fix) == true, "\(error?.fix ?? "")")
    }

    /// `[hook] lock_wait`: the hook's wait for the host lock, a file setting because libvirtd runs hooks with a
    /// cleared environment (VGPUCTL_HOOK_WAIT does not reach them there).
    @Test func theHookTableSetsItsLockWait() throws {
        #expect(try HostConfig.parse("[hook]\nlock_wait = 120\n", file: "f").hookLockWait == 120)
        #expect(try HostConfig.parse("", file: "f").hookLockWait == nil)
        for (text, message, fix) in [
            ("[hook]\nlock_wait = 0", "f:2: lock_wait = 0 is out of range", "1 to 600"),
            ("[hook]\nlock_wait = 601", "f:2: lock_wait = 601 is out of range", "1 to 600"),
            ("[hook]\nlock_wait = \"10\"", "f:2: 'lock_wait' is a string, but must be an integer (seconds)", "README"),
            ("[hook]\nwait = 10", "f:2: unknown key 'wait' in [hook]", "lock_wait"),
            ("[hook.x]", "f:1: unknown key 'x' in [hook]", "lock_wait"),
        ] {
            let error = #expect(throws: VGPUError.self) { try HostConfig.parse(text, file: "f") }
            #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
            #expect(error?.fix.contains(fix) == true, "\(error?.fix ?? "")")
        }
    }

    @Test func groupsFromTheConfigSteerThePlacer() throws {
        let config = try HostConfig.parse(Self.example, file: "f")
        let inventory = Inventories.sriov()
        let training = try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 3, group: "training"))
        #expect(training.map(\.gpu) == ["0000:10:00.0", "0000:11:00.0", "0000:12:00.0"], "the group's spread policy")
        let rest = try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 5, group: "default"))
        #expect(!rest.contains { ["0000:10:00.0", "0000:11:00.0", "0000:12:00.0", "0000:13:00.0"].contains($0.gpu) },
                "not the training GPUs, and not 13, which is reserved for nvidia-501")
        #expect(Set(rest.map(\.gpu)).count == 2, "pack: 4 on one GPU, then the next")
        let full = #expect(throws: VGPUError.self) {
            try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 13, group: "training"))
        }
        #expect(full?.kind == .noCapacity)
        #expect(full?.message.contains("group training") == true)
    }
}
