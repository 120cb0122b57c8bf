import Testing
@testable import VGPUCore

/// The config's declared layouts (issue 24): `[[layouts.NAME.entries]]` and the top-level `layout = "NAME"`.
@Suite struct LayoutConfigTests {
    static let example = """
        layout = "inference"                  # what a bare 'vgpuctl apply' and vgpud use

        [groups.training]
        gpus = ["0000:65:00.0", "0000:b3:00.0"]

        [[layouts.inference.entries]]
        gpus = "all"
        vgpus = { "nvidia-1414" = 4 }

        [[layouts.inference.entries]]
        group = "training"
        vgpus = { "A100-10C" = 2, "mtty-2" = 1 }

        [[layouts.mixed.entries]]
        gpus = ["0000:17:00.0", "mtty"]
        vgpus = { "mtty-2" = 3, "mtty-1" = 1, "A100-4C" = 65535 }
        """

    @Test func layoutsAreReadInTheOrderWrittenWithTheirOrigins() throws {
        let config = try HostConfig.parse(Self.example, file: "/etc/vgpuctl/vgpuctl.conf")
        #expect(config.selectedLayout == "inference")
        #expect(config.layouts["inference"] == DeclaredLayout(name: "inference", entries: [
            .init(gpus: .all, vgpus: [.init(type: "nvidia-1414", count: 4)], origin: "/etc/vgpuctl/vgpuctl.conf:6"),
            .init(gpus: .group("training"), vgpus: [.init(type: "A100-10C", count: 2), .init(type: "mtty-2", count: 1)],
                  origin: "/etc/vgpuctl/vgpuctl.conf:10"),
        ]))
        #expect(config.layouts["mixed"]?.entries == [
            .init(gpus: .gpus(["0000:17:00.0", "mtty"]),
                  vgpus: [.init(type: "mtty-2", count: 3), .init(type: "mtty-1", count: 1), .init(type: "A100-4C", count: 65535)],
                  origin: "/etc/vgpuctl/vgpuctl.conf:14"),
        ], "the types in the order written, not sorted")
        #expect(config.layouts.count == 2)
    }

    @Test func noLayoutSelectedAndGroupsDeclaredAfterTheLayout() throws {
        let config = try HostConfig.parse("""
            [[layouts.a.entries]]
            group = "pool"
            vgpus = { "mtty-1" = 1 }
            [[layouts.b.entries]]
            group = "default"
            vgpus = { "mtty-1" = 1 }
            [groups.pool]
            gpus = ["mtty"]
            """, file: "f")
        #expect(config.selectedLayout == nil)
        #expect(config.layouts["a"]?.entries.first?.gpus == .group("pool"), "a group may be declared after the layout naming it")
        #expect(config.layouts["b"]?.entries.first?.gpus == .group("default"), "the implicit catch-all group counts")
        #expect(try HostConfig.parse("", file: "f").layouts.isEmpty)
    }

    /// The schema's own errors: each names the file, the line, and the fix.
    @Test(arguments: [
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 1 }\ncount = 2",
         "f:4: unknown key 'count' in [layouts.a.entries]", "gpus, group, vgpus"),
        ("[layouts.a]\nentries = []\nname = \"x\"", "f:3: unknown key 'name' in [layouts.a]", "entries"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = \"4\" }",
         "f:3: the count of type mtty-1 is a string, but must be an integer", "vgpus = { \"mtty-1\" = 4 }"),
        ("[[layouts.a.entries]]\ngpus = 7\nvgpus = { \"mtty-1\" = 1 }",
         "f:2: 'gpus' is an integer, but must be \"all\" or an array of strings", "gpus = \"all\""),
        ("[[layouts.a.entries]]\ngroup = [\"x\"]\nvgpus = { \"mtty-1\" = 1 }",
         "f:2: 'group' is an array, but must be a string", "README"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = [\"mtty-1\"]",
         "f:3: 'vgpus' is an array, but must be a table of type = count", "README"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 1, \"mtty-1\" = 2 }",
         "f:3: key 'mtty-1' is defined twice (first on line 3) (column 25): vgpus = { \"mtty-1\" = 1, \"mtty-1\" = 2 }", "defined once"),
        ("[[layouts.a.entries]]\ngpus = [\"mtty\"]\ngroup = \"training\"\nvgpus = { \"mtty-1\" = 1 }\n[groups.training]\ngpus = [\"x\"]",
         "f:3: an entry of layout a has both gpus and group", "one way"),
        ("[[layouts.a.entries]]\ngroup = \"training\"\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 1 }",
         "f:3: an entry of layout a has both group and gpus", "one way"),
        ("[[layouts.a.entries]]\ngroup = \"trainig\"\nvgpus = { \"mtty-1\" = 1 }\n[groups.training]\ngpus = [\"x\"]",
         "f:2: layout a names group 'trainig', which is not defined", "training, default"),
        ("layout = \"infrence\"\n[[layouts.inference.entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 1 }",
         "f:1: layout = \"infrence\" names no layout of this file", "select one of: inference"),
        ("layout = \"inference\"", "f:1: layout = \"inference\" names no layout of this file", "[[layouts.inference.entries]]"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 0 }",
         "f:3: 0 instances of type mtty-1 is out of range", "leave it out"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 65536 }",
         "f:3: 65536 instances of type mtty-1 is out of range", "1 to 65535"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\n\n[layouts.a.entries.vgpus]\n\"mtty-1\" = -1",
         "f:5: -1 instances of type mtty-1 is out of range", "1 to 65535"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = {}", "f:3: vgpus = {} in [[layouts.a.entries]] names no type", "vgpus = {"),
        ("[[layouts.a.entries]]\ngpus = \"all\"", "f:1: an entry of layout a has no vgpus", "vgpus = {"),
        ("x = 1\n\n[[layouts.a.entries]]\nvgpus = { \"mtty-1\" = 1 }", "f:1: 'x' is outside any table", "layout = \"NAME\""),
        ("\n[[layouts.a.entries]]\nvgpus = { \"mtty-1\" = 1 }", "f:2: an entry of layout a names no GPUs", "group = \"NAME\""),
        ("[[layouts.a.entries]]\ngpus = \"0000:17:00.0\"\nvgpus = { \"mtty-1\" = 1 }",
         "f:2: gpus = \"0000:17:00.0\" in [[layouts.a.entries]]: the only string gpus takes is \"all\"", "gpus = [\"0000:17:00.0\"]"),
        ("[[layouts.a.entries]]\ngpus = []\nvgpus = { \"mtty-1\" = 1 }", "f:2: gpus = [] in [[layouts.a.entries]] selects no GPU", "\"all\""),
        ("[[layouts.a.entries]]\ngpus = [\n  \"mtty\",\n  \"mtty\",\n]\nvgpus = { \"mtty-1\" = 1 }",
         "f:4: GPU mtty is listed twice in the same entry of layout a", "once"),
        ("[layouts.a]\nentries = []", "f:1: layout a has no entries", "[[layouts.a.entries]]"),
        ("[layouts]\na = 1", "f:2: 'layouts.a' is an integer, but must be a table", "[[layouts.a.entries]]"),
        ("[layouts.a]\nentries = [1]", "f:2: an entry of layout a is an integer, but must be a table", "[[layouts.a.entries]]"),
        ("[[layouts.\"a/b\".entries]]\ngpus = \"all\"\nvgpus = { \"mtty-1\" = 1 }", "f:1: layout name 'a/b' would leave its directory", "'/'"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"../mtty\" = 1 }", "f:3: type '../mtty' would leave its directory", "'/'"),
        ("[[layouts.a.entries]]\ngpus = \"all\"\nvgpus = { \"mtty\\u0001\" = 1 }", "f:3: type 'mtty\\u{1}' contains control characters", "control"),
        ("layout = \"\"\n", "f:1: layout name '' is empty", "name"),
    ])
    func schemaMistakesAreRefusedWithFileLineAndFix(text: String, message: String, fix: String) {
        let error = #expect(throws: VGPUError.self) { try HostConfig.parse(text, file: "f") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.fix.contains(fix) == true, "\(error?.fix ?? "")")
    }
}
