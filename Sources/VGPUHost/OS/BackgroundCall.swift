#if canImport(Glibc)
import Glibc
#endif

/// One blocking call run on its own thread while the caller goes on (the migration call libvirt returns from
/// only at the end, while the coordinator polls the job beside it). `finished` and `result` are safe to read
/// from the caller's thread.
public final class BackgroundCall: @unchecked Sendable {
    private let lock = Mutex()
    private var outcome: Result<Void, any Error>?
    private var thread = pthread_t()
    private var hasThread = false
    private let body: () throws -> Void

    /// Starts `body` at once. libvirt's connection objects are thread-safe, which is what lets `body` use one
    /// that the caller keeps polling.
    public init(_ body: @escaping () throws -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            let call = Unmanaged<BackgroundCall>.fromOpaque(context!).takeRetainedValue()
            let result = Result { try call.body() }
            call.lock.withLock { call.outcome = result }
            return nil
        }, context)
        hasThread = started == 0
        if !hasThread {
            // No thread to be had: run it here, before the caller polls (it then sees the call finished).
            Unmanaged<BackgroundCall>.fromOpaque(context).release()
            outcome = Result { try body() }
        }
    }

    public var finished: Bool { lock.withLock { outcome != nil } }

    /// Waits for the call to end and returns what it threw, if anything.
    public func wait() -> Result<Void, any Error> {
        if hasThread { pthread_join(thread, nil) }
        return lock.withLock { outcome ?? .success(()) }
    }
}
