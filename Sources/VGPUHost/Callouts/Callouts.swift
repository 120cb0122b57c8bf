#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import VGPUCore

/// mdevctl's callout scripts, run as mdevctl runs them, so that tooling written for mdevctl (vfio_ap's, a
/// site's policy checks) sees vgpuctl's actions too. Facts from mdevctl:
/// - callouts live in `/usr/lib/mdevctl/scripts.d/callouts` and `/etc/mdevctl.d/scripts.d/callouts`, notifiers in
///   the `notifiers` directories beside them; each is run as `SCRIPT -t TYPE -e EVENT -a ACTION -s STATE -u UUID
///   -p PARENT` with the device's JSON (`{"mdev_type","start","attrs"}`) on stdin (notifiers: nothing);
/// - in each directory, in name order, the first script that does not exit 2 ("not my device type") handles the
///   event: for `pre`, a non-zero exit refuses the action; `post` follows the action with the state
///   `success`/`failure` and cannot change it; a script a signal ended is passed over;
/// - after the action (or its refusal), every notifier gets `-e notify`;
/// - `get attributes` asks the script for a running device's attributes (a JSON array on stdout).
/// vgpuctl adds a time bound: a script still running after `timeout` seconds is killed; for `pre` that refuses.
public struct Callouts: Sendable {
    public enum Event: String, Sendable { case pre, post, notify, get, live }
    public enum Action: String, Sendable { case start, stop, define, undefine, modify, attributes }
    public enum State: String, Sendable { case none, success, failure }

    /// What the scripts are told about the device.
    public struct Device: Equatable, Sendable {
        public var uuid: DeviceUUID
        public var parent: String
        public var type: String
        /// mdevctl's compact JSON of the device, given on stdin.
        public var json: String

        public init(_ definition: Definition) {
            (uuid, parent, type) = (definition.uuid, definition.parent, definition.type)
            json = DefinitionStore.compactJSON(definition)
        }
    }

    public let paths: HostPaths
    public let os: SystemCalls
    public let timeout: Double

    public init(paths: HostPaths, os: SystemCalls, timeout: Double = 10) {
        self.paths = paths
        self.os = os
        self.timeout = timeout
    }

    var calloutDirectories: [String] {
        [Paths.join(paths.root, "usr/lib/mdevctl/scripts.d/callouts"), Paths.join(paths.mdevctlDefinitions, "scripts.d/callouts")]
    }

    var notifierDirectories: [String] {
        [Paths.join(paths.root, "usr/lib/mdevctl/scripts.d/notifiers"), Paths.join(paths.mdevctlDefinitions, "scripts.d/notifiers")]
    }

    public static func arguments(_ device: Device, event: Event, action: Action, state: State) -> [String] {
        ["-t", device.type, "-e", event.rawValue, "-a", action.rawValue, "-s", state.rawValue, "-u", device.uuid.text, "-p", device.parent]
    }

    /// One script's run: which script, how it ended, and its stderr as mdevctl shows it (`script: message`).
    public struct Run: Sendable {
        public let script: String
        public let result: ProcessResult
        public var message: String {
            let text = result.stderr.trimmingTrailingWhitespace
            return text.isEmpty ? "" : "\(Paths.basename(script)): \(text)"
        }
    }

    /// The `pre` event: returns the script that handled it (nil: none did), or throws `.vetoed` when it refused.
    public func pre(_ action: Action, _ device: Device) throws -> Run? {
        guard let run = try firstHandling(.pre, action, device, state: .none) else { return nil }
        if run.result.timedOut || run.result.status != 0 {
            let seconds = timeout == timeout.rounded() ? "\(Int(timeout))" : "\(timeout)"
            let how = run.result.timedOut ? "did not finish within \(seconds) s and was killed"
                                          : "exited with status \(run.result.status ?? -1)"
            let said = run.message.isEmpty ? "" : ": \(run.message)"
            throw VGPUError(.vetoed, "the mdevctl callout \(run.script) refused to \(action.rawValue) vGPU \(device.uuid) (it \(how))\(said)",
                            fix: "nothing was changed; deal with what the script reports, or remove it from \(Paths.dirname(run.script)) if it does not belong on this host")
        }
        return run
    }

    /// The `post` event, to the script that handled `pre` (else the first that handles it); never fails the action.
    public func post(_ action: Action, _ device: Device, succeeded: Bool, handler: Run?) -> Run? {
        let state: State = succeeded ? .success : .failure
        if let handler {
            return (try? run(handler.script, device, event: .post, action: action, state: state, stdin: device.json)) ?? nil
        }
        return (try? firstHandling(.post, action, device, state: state)) ?? nil
    }

    /// Every notifier, after the action; their results are not looked at (mdevctl's behaviour).
    public func notify(_ action: Action, _ device: Device, state: State) -> [Run] {
        notifierDirectories.flatMap { scripts(in: $0) }.compactMap {
            (try? run($0, device, event: .notify, action: action, state: state, stdin: "")) ?? nil
        }
    }

    /// `get attributes`: a running device's attributes as the handling script reports them (nil: no script).
    public func attributes(of device: Device) throws -> [Definition.Attribute]? {
        guard let run = try firstHandling(.get, .attributes, device, state: .none, stdin: "") else { return nil }
        guard run.result.status == 0 else {
            throw VGPUError(.host, "the mdevctl callout \(run.script) could not report the attributes of vGPU \(device.uuid)" +
                            (run.message.isEmpty ? "" : ": \(run.message)"), fix: "deal with what the script reports")
        }
        var text = run.result.stdout
        while text.last == "\0" { text.removeLast() }
        text = text.trimmingTrailingWhitespace
        if text.isEmpty { return nil }
        if text == "[{}]" { return [] }
        guard let objects = try? JSONDecoder().decode([[String: String]].self, from: Data(text.utf8)),
              objects.allSatisfy({ $0.count == 1 }) else {
            throw VGPUError(.host, "the mdevctl callout \(run.script) reported attributes that are not [{\"name\": \"value\"}, …]: \(text)",
                            fix: "fix the script's output")
        }
        return objects.map { Definition.Attribute(name: $0.keys.first!, value: $0.values.first!) }
    }

    /// mdevctl's search: per directory, in name order, the first script that does not exit 2 and was not
    /// ended by a signal (a timeout counts as handling: it was not declining).
    func firstHandling(_ event: Event, _ action: Action, _ device: Device, state: State, stdin: String? = nil) throws -> Run? {
        for directory in calloutDirectories {
            for script in scripts(in: directory) {
                guard let run = try run(script, device, event: event, action: action, state: state, stdin: stdin ?? device.json) else { continue }
                if run.result.timedOut { return run }
                if run.result.status == nil || run.result.status == 2 { continue }
                return run
            }
        }
        return nil
    }

    /// The entries of a script directory, sorted (mdevctl sorts by path); hidden files are skipped.
    func scripts(in directory: String) -> [String] {
        guard os.isDirectory(directory), let names = try? os.list(directory) else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { Paths.join(directory, $0) }.filter { !os.isDirectory($0) }
    }

    /// nil when the file is not a program (not executable, not a binary or script): mdevctl passes over it too.
    /// Any other failure to start it (no memory, no processes) is the host's, and stops the action.
    func run(_ script: String, _ device: Device, event: Event, action: Action, state: State, stdin: String) throws -> Run? {
        let arguments = Self.arguments(device, event: event, action: action, state: state)
        do {
            return Run(script: script, result: try os.run(script, arguments: arguments, stdin: stdin, timeout: timeout))
        } catch where [EACCES, ENOEXEC, ENOENT, EISDIR].contains(error.errno) {
            return nil
        } catch {
            throw VGPUError(.host, "could not run the mdevctl callout \(script): \(error)", fix: "check the host's resources, then try again")
        }
    }
}
