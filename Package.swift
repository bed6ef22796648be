// swift-tools-version: 6.1
import PackageDescription

// One library target per pipeline stage; the executable only parses arguments and does I/O.
// Only IPNatNetlink imports C (libnftnl and libmnl, through CNftables): the front end, the
// compiler and the linearizer build and test on any machine with Swift. Without the default
// Kernel trait (`--disable-default-traits`), `ipnat` leaves out the commands that talk to the
// kernel and links neither library: a lint-only binary for CI runners.
let package = Package(
  name: "ipnat",
  products: [
    .executable(name: "ipnat", targets: ["ipnat"])
  ],
  traits: [
    .trait(name: "Kernel", description: "load, list, diff, flush, confirm and ipnat(8)'s flags, through libnftnl and libmnl"),
    .default(enabledTraits: ["Kernel"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
  ],
  targets: [
    .target(name: "IPNatDiagnostics"),
    .target(name: "IPAddressing"),
    .target(name: "IPNatSyntax", dependencies: ["IPNatDiagnostics", "IPAddressing"]),
    .target(name: "NFTModel", dependencies: ["IPAddressing", "IPNatDiagnostics"]),
    .target(name: "JSONText"),
    .target(name: "NFTText", dependencies: ["NFTModel", "JSONText", "IPAddressing"]),
    // IPFilter's meaning that both the lowering and lint need: search order, round-robin
    // grouping, map-block's port blocks.
    .target(name: "IPNatSemantics", dependencies: ["IPNatDiagnostics", "IPNatSyntax", "IPAddressing"]),
    .target(name: "IPNatLowering", dependencies: ["IPNatDiagnostics", "IPNatSyntax", "IPNatSemantics", "IPAddressing", "NFTModel"]),
    .target(name: "IPNatLint", dependencies: ["IPNatDiagnostics", "IPNatSyntax", "IPNatSemantics", "IPAddressing", "JSONText"]),
    .target(name: "IPNatKit", dependencies: ["IPNatDiagnostics", "IPNatSyntax", "IPNatLowering", "IPNatLint", "NFTModel", "NFTText", "NFTKernel"]),
    .target(name: "NFTKernel", dependencies: ["NFTModel", "IPAddressing"]),
    .systemLibrary(name: "CNftables", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev", "libmnl-dev"])]),
    .target(name: "IPNatNetlink", dependencies: ["CNftables", "NFTKernel", "NFTModel"]),
    // The kernel half: load, check, confirm and roll back, -r, diff and list, over a transport.
    .target(name: "IPNatLoader", dependencies: ["IPAddressing", "IPNatDiagnostics", "IPNatNetlink", "NFTKernel", "NFTModel"]),
    // natpmpd: the protocol, its decisions and its table as values; then the daemon's I/O.
    .target(name: "NATPMP", dependencies: ["IPNatDiagnostics", "IPAddressing", "NFTModel"]),
    .target(name: "UPnP", dependencies: ["NATPMP", "IPAddressing"]),
    .target(name: "IPNatEvaluation", dependencies: ["NFTModel", "IPAddressing", "IPNatDiagnostics", "JSONText"]),
    .target(
      name: "NATPMPDaemon",
      dependencies: [
        "NATPMP", "UPnP", "IPNatNetlink", "NFTKernel", "NFTModel", "IPAddressing",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]
    ),
    .executableTarget(
      name: "ipnat",
      dependencies: [
        "IPNatKit",
        "IPNatLint",
        "IPNatDiagnostics",
        .target(name: "IPNatNetlink", condition: .when(traits: ["Kernel"])),
        .target(name: "NFTKernel", condition: .when(traits: ["Kernel"])),
        .target(name: "IPNatLoader", condition: .when(traits: ["Kernel"])),
        .target(name: "NATPMPDaemon", condition: .when(traits: ["Kernel"])),
        "NATPMP",
        "JSONText",
        "IPNatEvaluation",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      // The manual pages, mdoc; `.ci/package` installs them.
      exclude: ["Manual"]
    ),
    // Every stage on arbitrary bytes, and natpmpd's readers: what the libFuzzer build of
    // ipnat-fuzz calls per input.
    .target(
      name: "IPNatFuzzing",
      dependencies: [
        "IPNatKit", "IPNatLint", "IPNatSyntax", "IPNatDiagnostics", "IPAddressing", "NFTKernel", "NFTText", "NATPMP", "UPnP",
        "IPNatEvaluation", "NFTModel",
      ]
    ),
    .executableTarget(name: "ipnat-fuzz", dependencies: ["IPNatFuzzing", "IPNatKit"]),
    .executableTarget(
      name: "ipnat-bench",
      dependencies: [
        "IPNatKit", "IPNatLowering", "IPNatSyntax", "IPNatDiagnostics", "NFTText",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(name: "IPNatDiagnosticsTests", dependencies: ["IPNatDiagnostics"]),
    .testTarget(name: "IPAddressingTests", dependencies: ["IPAddressing"]),
    // What several test targets share: nft -c in a throwaway namespace, files, golden files.
    .target(name: "TestSupport", path: "Tests/TestSupport", exclude: ["Tools"]),
    .testTarget(name: "NFTTextTests", dependencies: ["NFTText", "NFTModel", "IPAddressing", "JSONText", "TestSupport"]),
    .testTarget(
      name: "IPNatLoweringTests",
      dependencies: ["IPNatKit", "IPNatLowering", "IPNatSyntax", "IPNatDiagnostics", "NFTModel", "IPAddressing", "TestSupport"],
      exclude: ["Golden", "RealConfigurations"]
    ),
    .testTarget(name: "IPNatSyntaxTests", dependencies: ["IPNatSyntax", "IPNatKit", "IPNatDiagnostics", "TestSupport"], exclude: ["Golden"]),
    .testTarget(name: "IPNatLintTests", dependencies: ["IPNatKit", "IPNatLint", "IPNatSyntax", "IPNatDiagnostics", "IPAddressing", "TestSupport"], exclude: ["Checks"]),
    .testTarget(name: "ipnatTests", dependencies: ["TestSupport"]),
    .testTarget(name: "NFTKernelTests", dependencies: ["NFTKernel", "NFTModel", "IPAddressing"]),
    .testTarget(name: "LoaderTests", dependencies: ["TestSupport"]),
    .testTarget(name: "IPNatSemanticsTests", dependencies: ["IPNatSemantics", "IPNatSyntax", "IPNatDiagnostics"]),
    .testTarget(
      name: "DiagnosticCatalogueTests",
      dependencies: [
        "IPNatDiagnostics", "IPNatKit", "IPNatLint", "IPNatLoader", "IPNatSemantics", "IPNatSyntax", "NATPMP", "TestSupport",
        "IPNatEvaluation",
      ]
    ),
    .testTarget(name: "IPNatLoaderTests", dependencies: ["IPNatLoader", "IPNatKit", "IPNatNetlink", "CNftables", "NFTKernel", "NFTModel", "IPNatDiagnostics", "TestSupport"]),
    .testTarget(name: "FuzzRegressionTests", dependencies: ["IPNatFuzzing", "TestSupport"], exclude: ["Crashes", "ipnat.dict"]),
    .testTarget(
      name: "NATPMPTests", dependencies: ["NATPMP", "NFTKernel", "NFTText", "IPAddressing", "IPNatDiagnostics", "TestSupport"], exclude: ["Configurations"]
    ),
    .testTarget(name: "IPNatEvaluationTests",
                dependencies: ["IPNatEvaluation", "IPNatKit", "NFTModel", "IPAddressing", "IPNatDiagnostics", "TestSupport"],
                exclude: ["Golden"]),
    .testTarget(name: "UPnPTests", dependencies: ["UPnP", "NATPMP", "IPAddressing", "TestSupport"], exclude: ["Seeds"]),
    .testTarget(name: "NATPMPDaemonTests", dependencies: ["NATPMP", "TestSupport"]),
    .testTarget(name: "PacketTests", dependencies: ["IPNatKit", "IPNatDiagnostics", "IPNatEvaluation", "IPAddressing", "NFTModel", "TestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
