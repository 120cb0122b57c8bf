#if canImport(Glibc)
import Glibc
#endif

/// Monotonic seconds, for deadlines and latencies: the one clock every wait and measurement in vgpuctl uses.
public func monotonicNow() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
