// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for what vgpuctl reads from untrusted bytes (issue 21, "Hostile input"); scripts/fuzz.sh
// builds and runs them (its header says why this way). A package of its own, so the main package never links
// libFuzzer: Product/ links to the product's own module directories in ../Sources (SwiftPM refuses target
// paths outside a package), and only the modules the targets need are built. No remote dependency.
let package = Package(
    name: "vgpuctl-fuzz",
    targets: [
        .systemLibrary(name: "CLibvirt", path: "Product/CLibvirt"),
        .systemLibrary(name: "CLibUUID", path: "Product/CLibUUID", pkgConfig: "uuid"),
        .target(name: "VGPUCore", path: "Product/VGPUCore"),
        .target(name: "VGPUHost", dependencies: ["VGPUCore", "CLibvirt", "CLibUUID"], path: "Product/VGPUHost"),
        .target(name: "VGPUApp", dependencies: ["VGPUCore", "VGPUHost"], path: "Product/VGPUApp"),

        .target(name: "FuzzSupport", dependencies: ["VGPUCore"], path: "Targets/FuzzSupport"),
        .executableTarget(name: "fuzz-domain-xml", dependencies: ["FuzzSupport", "VGPUCore", "VGPUApp"], path: "Targets/DomainXML"),
        .executableTarget(name: "fuzz-definition", dependencies: ["FuzzSupport", "VGPUCore", "VGPUHost"], path: "Targets/Definition"),
        .executableTarget(name: "fuzz-config", dependencies: ["FuzzSupport", "VGPUCore"], path: "Targets/Config"),
        .executableTarget(name: "fuzz-journal", dependencies: ["FuzzSupport", "VGPUCore", "VGPUHost"], path: "Targets/Journal"),
    ]
)
