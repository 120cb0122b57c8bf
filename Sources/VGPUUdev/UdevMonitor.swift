#if canImport(Glibc)
import Glibc
#endif
import CUdev
import VGPUCore
import VGPUHost

/// A stream of uevents, read one at a time by a thread of its own (libudev is blocking C). The live one is
/// `LibUdevMonitor`; tests use `ScriptedUdevSource`.
public protocol UdevEventSource: AnyObject, Sendable {
    /// Blocks until the next event; nil once `stop()` was called (or a scripted source has no more).
    func next() throws -> UdevEvent?
    /// Makes a blocked (or the next) `next()` return nil. Safe from any thread.
    func stop()
}

/// libudev's monitor on the "udev" netlink group: events after udevd has processed them (so the device's sysfs
/// attributes and udev's own rules are done). No subsystem filter: an mdev parent announces itself on its own
/// subsystem (`pci`, or a class such as `mtty`), see `ParentEvent`; the few events a host sends cost nothing.
/// The monitor's fd is polled together with a wake pipe, so `stop()` ends a blocked `next()` at once.
public final class LibUdevMonitor: UdevEventSource, @unchecked Sendable {
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let wake: (read: Int32, write: Int32)
    private let state = Mutex()
    private var stopped = false

    public init() throws {
        guard let udev = udev_new() else { throw VGPUError(.host, "libudev: udev_new failed (errno \(errno))") }
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
            udev_unref(udev)
            throw VGPUError(.host, "libudev: could not open the udev netlink monitor (errno \(errno))",
                            fix: "run vgpud as root on a host where systemd-udevd runs")
        }
        // Bursts (32 VFs at once) must not overflow the socket: 1 MiB, as udevadm monitor asks for.
        _ = udev_monitor_set_receive_buffer_size(monitor, 1 << 20)
        let status = udev_monitor_enable_receiving(monitor)
        guard status >= 0 else {
            udev_monitor_unref(monitor); udev_unref(udev)
            throw VGPUError(.host, "libudev: could not start receiving uevents (\(String(cString: strerror(-status))))",
                            fix: "run vgpud as root")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            udev_monitor_unref(monitor); udev_unref(udev)
            throw VGPUError(.host, "could not create a pipe (errno \(errno))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        self.udev = udev
        self.monitor = monitor
        self.wake = (fds[0], fds[1])
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
        close(wake.read)
        close(wake.write)
    }

    public func next() throws -> UdevEvent? {
        let fd = udev_monitor_get_fd(monitor)
        while true {
            if state.withLock({ stopped }) { return nil }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw VGPUError(.host, "polling the udev monitor failed (errno \(errno))")
            }
            if fds[1].revents != 0 { return nil }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            // The socket is non-blocking: nil here is a message udev filtered or could not parse.
            guard let device = udev_monitor_receive_device(monitor) else { continue }
            defer { udev_device_unref(device) }
            return Self.event(device)
        }
    }

    public func stop() {
        state.withLock { stopped = true }
        var byte: UInt8 = 1
        _ = Glibc.write(wake.write, &byte, 1)
    }

    private static func event(_ device: OpaquePointer) -> UdevEvent {
        func string(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        var properties: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(device)
        while let current = entry {
            if let name = string(udev_list_entry_get_name(current)) {
                properties[name] = string(udev_list_entry_get_value(current)) ?? ""
            }
            entry = udev_list_entry_get_next(current)
        }
        return UdevEvent(action: string(udev_device_get_action(device)) ?? properties["ACTION"] ?? "",
                         subsystem: string(udev_device_get_subsystem(device)),
                         sysname: string(udev_device_get_sysname(device)) ?? "",
                         devpath: string(udev_device_get_devpath(device)) ?? "",
                         properties: properties)
    }
}

/// A source that replays given events, then reports the end (or blocks until `stop()` when `holdOpen`): the
/// fake for tests of what vgpud does with events.
public final class ScriptedUdevSource: UdevEventSource, @unchecked Sendable {
    private var events: [UdevEvent]
    private var stopped = false
    private let holdOpen: Bool
    private var condition = pthread_cond_t()
    private var mutex = pthread_mutex_t()

    public init(_ events: [UdevEvent], holdOpen: Bool = false) {
        self.events = events
        self.holdOpen = holdOpen
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    public func next() throws -> UdevEvent? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while true {
            if stopped { return nil }
            if !events.isEmpty { return events.removeFirst() }
            if !holdOpen { return nil }
            pthread_cond_wait(&condition, &mutex)
        }
    }

    /// Adds an event for the reader (tests that feed a running watcher).
    public func send(_ event: UdevEvent) {
        pthread_mutex_lock(&mutex)
        events.append(event)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    public func stop() {
        pthread_mutex_lock(&mutex)
        stopped = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}
