import CLibvirt
import Testing
import VGPUHost

/// `LibvirtAPI` resolves libvirt's functions with dlsym into function-pointer types written by hand; this test
/// (whose target links libvirt) makes the compiler check each type against the C declaration, and checks that
/// dlsym found the very function the linker binds. Adding a function to the table: add its line here too.
@Suite struct LibvirtAPITests {
    @Test func everyFunctionMatchesItsCDeclaration() throws {
        let api = try LibvirtAPI.load()
        check(api.virGetLastErrorMessage, virGetLastErrorMessage)
        check(api.virGetLastErrorCode, virGetLastErrorCode)
        check(api.virSetErrorFunc, virSetErrorFunc)
        check(api.virEventRegisterDefaultImpl, virEventRegisterDefaultImpl)
        check(api.virEventRunDefaultImpl, virEventRunDefaultImpl)
        check(api.virEventAddTimeout, virEventAddTimeout)
        check(api.virEventRemoveTimeout, virEventRemoveTimeout)
        check(api.virGetVersion, virGetVersion)
        check(api.virConnectGetLibVersion, virConnectGetLibVersion)
        check(api.virConnectOpen, virConnectOpen)
        check(api.virConnectClose, virConnectClose)
        check(api.virConnectSetKeepAlive, virConnectSetKeepAlive)
        check(api.virConnectDomainEventRegisterAny, virConnectDomainEventRegisterAny)
        check(api.virConnectDomainEventDeregisterAny, virConnectDomainEventDeregisterAny)
        check(api.virConnectListAllDomains, virConnectListAllDomains)
        check(api.virDomainLookupByName, virDomainLookupByName)
        check(api.virDomainLookupByUUIDString, virDomainLookupByUUIDString)
        check(api.virDomainFree, virDomainFree)
        check(api.virDomainGetName, virDomainGetName)
        check(api.virDomainGetUUIDString, virDomainGetUUIDString)
        check(api.virDomainIsActive, virDomainIsActive)
        check(api.virDomainGetXMLDesc, virDomainGetXMLDesc)
        check(api.virDomainAttachDeviceFlags, virDomainAttachDeviceFlags)
        check(api.virDomainDetachDeviceFlags, virDomainDetachDeviceFlags)
        check(api.virDomainGetMetadata, virDomainGetMetadata)
        check(api.virDomainSetMetadata, virDomainSetMetadata)
        check(api.virDomainGetAutostart, virDomainGetAutostart)
        check(api.virDomainDefineXML, virDomainDefineXML)
        check(api.virDomainMigrateToURI3, virDomainMigrateToURI3)
        check(api.virDomainGetJobStats, virDomainGetJobStats)
        check(api.virDomainMigrateSetMaxDowntime, virDomainMigrateSetMaxDowntime)
        check(api.virDomainAbortJob, virDomainAbortJob)
        check(api.virTypedParamsAddString, virTypedParamsAddString)
        check(api.virTypedParamsGetULLong, virTypedParamsGetULLong)
        check(api.virTypedParamsFree, virTypedParamsFree)
        check(api.virConnectListAllNodeDevices, virConnectListAllNodeDevices)
        check(api.virNodeDeviceFree, virNodeDeviceFree)
        check(api.virNodeDeviceGetXMLDesc, virNodeDeviceGetXMLDesc)
        check(api.virNodeDeviceIsActive, virNodeDeviceIsActive)
    }

    @Test func libraryVersionIsMajorMinorRelease() throws {
        let version = try LibvirtAPI.load().libraryVersion()
        #expect(version.split(separator: ".").count == 3 && version.split(separator: ".").allSatisfy { Int($0) != nil }, "\(version)")
    }

    /// `field` is the table's implicitly unwrapped function pointer; `declared` the C function, converted to the
    /// same type (a compile error if the C signature differs).
    func check<Function>(_ field: Function?, _ declared: Function, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let field else { Issue.record("not resolved", sourceLocation: sourceLocation); return }
        #expect(unsafeBitCast(field, to: UnsafeRawPointer.self) == unsafeBitCast(declared, to: UnsafeRawPointer.self),
                sourceLocation: sourceLocation)
    }
}
