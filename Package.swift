// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: front ends (vgpuctl, vgpud, VGPUDaemon) -> VGPUApp (use cases) -> VGPUHost (adapters) ->
// VGPUCore (pure). The front ends do not depend on VGPUHost; SwiftPM would still let them import it (a transitive
// dependency's module is visible), so Tests/VGPUCtlTests/LayeringTests.swift fails on any front-end file that does.
let package = Package(
    name: "vgpuctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vgpuctl", targets: ["vgpuctl"]),
        .executable(name: "vgpu-fixture", targets: ["vgpu-fixture"]),
        .executable(name: "vgpud", targets: ["vgpud"]),
        .executable(name: "vgpu-layout-import", targets: ["vgpu-layout-import"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // vgpud only: start-up and graceful shutdown, logging, metrics, and the HTTP endpoint (NIOHTTP1).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // VGPUImport only: YAML, for NVIDIA vgpu-device-manager's config file (its node API keeps mapping order and
        // each node's line).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libvirt's headers only (libvirt-dev): types and constants. libvirt itself is not linked; it is loaded
        // with dlopen when a command first needs it (Sources/VGPUHost/Libvirt/LibvirtAPI.swift), so commands that
        // do not talk to libvirt do not pay for loading it and its ~55 dependencies. No pkgConfig here on purpose:
        // SwiftPM would add pkg-config's `-lvirt` to the link.
        .systemLibrary(name: "CLibvirt"),
        // C libraries, linked directly through pkg-config (libuuid has no dependencies of its own). libudev is linked
        // only into vgpud (through VGPUUdev), so vgpuctl and its hook do not load it.
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CLibUUID", pkgConfig: "uuid", providers: [.apt(["uuid-dev"])]),

        // Pure: models, validation, placement, plans, XML generation, the config's TOML parser. No file, process or
        // library I/O, and no dependency: standard library only.
        .target(name: "VGPUCore"),
        // Adapters: sysfs, libvirt, udev, libuuid, definitions, journal, lock. The OS is touched in OS/.
        .target(name: "VGPUHost", dependencies: ["VGPUCore", "CLibvirt", "CLibUUID"]),
        // The udev adapter (libudev monitor and its scripted fake): vgpud's only, kept apart from VGPUHost.
        .target(name: "VGPUUdev", dependencies: ["VGPUCore", "VGPUHost", "CUdev"]),
        // The application layer: the use cases every front end (CLI, hook, reconcile, vgpud, migrate) calls, through
        // one `Application` built from one `Environment`.
        .target(name: "VGPUApp", dependencies: ["VGPUCore", "VGPUHost"]),
        // Pure, like VGPUCore: other tools' files read into VGPUCore's values (NVIDIA vgpu-device-manager's YAML
        // config into a DeclaredLayout). Apart from VGPUCore because it needs Yams: VGPUCore has no dependency, so
        // fuzz/ compiles it with no remote package, and only what reads such a file links a YAML parser.
        .target(name: "VGPUImport", dependencies: ["VGPUCore", .product(name: "Yams", package: "Yams")]),
        // Builds sysfs trees that mirror real hosts, for tests and the benchmark generator.
        .target(name: "VGPUFixtures", dependencies: ["VGPUCore", "VGPUHost"]),

        // The CLI: its commands, the hook's front end and the fast path (Sources/vgpuctl), a library so that the
        // build can render its --help for the fast path (vgpuctl-help-text, run by HelpTextPlugin) before linking
        // the executable (Sources/vgpuctl-main: main.swift and the generated text).
        .target(name: "VGPUCtlCommands", dependencies: [
            "VGPUCore", "VGPUApp",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/vgpuctl"),
        .executableTarget(name: "vgpuctl-help-text", dependencies: [
            "VGPUCtlCommands", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .plugin(name: "HelpTextPlugin", capability: .buildTool(), dependencies: ["vgpuctl-help-text"]),
        .executableTarget(name: "vgpuctl", dependencies: [
            "VGPUCtlCommands", "VGPUCore", "VGPUApp",
        ], path: "Sources/vgpuctl-main", plugins: ["HelpTextPlugin"]),
        // The daemon's front-end logic (udev watcher, VF enabler, periodic reconcile, metrics), kept out of the
        // executable so tests reach it; the executable adds the HTTP endpoint and the command line.
        .target(name: "VGPUDaemon", dependencies: [
            "VGPUCore", "VGPUApp", "VGPUUdev",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "vgpud", dependencies: [
            "VGPUCore", "VGPUApp", "VGPUDaemon", "VGPUUdev",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Reads vgpu-device-manager's YAML for `vgpuctl apply --from-vgpu-device-manager` and prints the layout as JSON:
        // a program of its own so that vgpuctl links neither Yams nor Foundation (vgpuctl runs it as a child).
        .executableTarget(name: "vgpu-layout-import", dependencies: [
            "VGPUCore", "VGPUImport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vgpu-fixture", dependencies: [
            "VGPUCore", "VGPUFixtures",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // toml-test/ holds the toml-test suite's cases, read from the source tree by TOMLConformanceTests.
        .testTarget(name: "VGPUCoreTests", dependencies: ["VGPUCore"], exclude: ["toml-test"]),
        .testTarget(name: "VGPUImportTests", dependencies: ["VGPUCore", "VGPUImport"]),
        // The tests link libvirt (the product does not): LibvirtAPITests checks the dlsym table against the C
        // declarations at compile time.
        .testTarget(name: "VGPUHostTests", dependencies: ["VGPUCore", "VGPUHost", "VGPUFixtures", "VGPUApp", "CLibvirt"],
                    exclude: ["Expected"], // expected outputs, read by path (ExpectedOutput.swift)
                    linkerSettings: [.linkedLibrary("virt")]),
        // Runs the built vgpuctl: its fast path prints what ArgumentParser prints (Sources/vgpuctl/FastPath).
        .testTarget(name: "VGPUCtlTests", dependencies: ["vgpuctl", "VGPUCtlCommands", "VGPUFixtures"]),
        .testTarget(name: "VGPUDaemonTests", dependencies: [
            "VGPUCore", "VGPUHost", "VGPUApp", "VGPUDaemon", "VGPUUdev", "VGPUFixtures",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
