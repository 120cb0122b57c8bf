import VGPUCore
import VGPUHost

/// The vGPUs the hook created for a domain migrating in (`/run/vgpuctl/incoming/DOMAIN`): the domain's first
/// `release end` afterwards removes them when its reason is `failed` (the migration failed), and forgets
/// them otherwise (a later stop of a domain that arrived keeps its vGPUs, as any other stop does).
struct IncomingRecord {
    let environment: Environment
    let domain: String

    private var path: String {
        Paths.join(environment.paths.runDirectory, "incoming/" + String(domain.map { $0 == "/" ? "_" : $0 }))
    }

    func write(_ uuids: [DeviceUUID]) throws {
        do { try environment.os.replaceAtomically(path, with: uuids.map { $0.text + "\n" }.joined(), mode: 0o600, directoryMode: { _ in 0o700 }) }
        catch { throw VGPUError(.host, "could not record the incoming vGPUs of domain \(domain) in \(path): \(error)", fix: "check that \(environment.paths.runDirectory) is writable") }
    }

    func read() -> [DeviceUUID] {
        guard let text = try? environment.os.read(path) else { return [] }
        return text.split(separator: "\n").compactMap { try? DeviceUUID(parsing: String($0)) }
    }

    func remove() throws {
        do { try environment.os.removeDurably(path) }
        catch { throw VGPUError(.host, "could not remove \(path): \(error)", fix: "remove it by hand") }
    }
}
