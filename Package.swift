// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: front ends (vgpuctl) -> VGPUApp (use cases) -> VGPUHost (adapters) -> VGPUCore (pure).
let package = Package(
    name: "vgpuctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vgpuctl", targets: ["vgpuctl"]),
        .executable(name: "vgpu-fixture", targets: ["vgpu-fixture"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // libvirt's headers only (libvirt-dev): types and constants. libvirt itself is not linked; it is loaded
        // with dlopen when a command first needs it (Sources/VGPUHost/Libvirt/LibvirtAPI.swift), so commands that
        // do not talk to libvirt do not pay for loading it and its ~55 dependencies. No pkgConfig here on purpose:
        // SwiftPM would add pkg-config's `-lvirt` to the link.
        .systemLibrary(name: "CLibvirt"),
        // C libraries, linked directly through pkg-config (libuuid has no dependencies of its own). CUdev is linked
        // by no target now: nothing used it, yet every process loaded libudev; a future udev adapter depends on it.
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CLibUUID", pkgConfig: "uuid", providers: [.apt(["uuid-dev"])]),

        // Pure: models, validation, placement, plans, XML generation. No file, process or library I/O.
        .target(name: "VGPUCore"),
        // Adapters: sysfs, libvirt, udev, libuuid, definitions, journal, lock. The OS is touched in OS/.
        .target(name: "VGPUHost", dependencies: ["VGPUCore", "CLibvirt", "CLibUUID"]),
        // The application layer: the use cases every front end (CLI, hook, reconcile, vgpud) calls.
        .target(name: "VGPUApp", dependencies: ["VGPUCore", "VGPUHost"]),
        // Builds sysfs trees that mirror real hosts, for tests and the benchmark generator.
        .target(name: "VGPUFixtures", dependencies: ["VGPUCore", "VGPUHost"]),

        .executableTarget(name: "vgpuctl", dependencies: [
            "VGPUCore", "VGPUHost", "VGPUApp",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vgpu-fixture", dependencies: [
            "VGPUFixtures",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "VGPUCoreTests", dependencies: ["VGPUCore"]),
        // The tests link libvirt (the product does not): LibvirtAPITests checks the dlsym table against the C
        // declarations at compile time.
        .testTarget(name: "VGPUHostTests", dependencies: ["VGPUCore", "VGPUHost", "VGPUFixtures", "CLibvirt"],
                    linkerSettings: [.linkedLibrary("virt")]),
    ]
)
