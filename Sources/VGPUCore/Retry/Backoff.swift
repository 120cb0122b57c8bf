/// How vgpud retries starting a parent's `auto` vGPUs when the parent has just appeared and is not ready yet
/// (a VF whose vendor driver binds a moment after the `add` event, a driver still registering its types):
/// exponential, capped, and bounded, so a parent that never becomes usable costs a handful of attempts, not a
/// tight failing loop. The periodic reconcile is what tries again after the last attempt.
public struct Backoff: Equatable, Sendable {
    /// Seconds before the second attempt.
    public var initial: Double
    public var multiplier: Double
    /// No pause is longer than this.
    public var maximum: Double
    /// Attempts in all, the first included (at least 1).
    public var attempts: Int

    public init(initial: Double = 0.5, multiplier: Double = 2, maximum: Double = 30, attempts: Int = 8) {
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
        self.attempts = max(1, attempts)
    }

    /// The pause after failed attempt `attempt` (1-based) before the next one; nil when that was the last.
    public func delay(afterAttempt attempt: Int) -> Double? {
        guard attempt >= 1, attempt < attempts else { return nil }
        var delay = initial
        for _ in 1..<attempt {
            delay *= multiplier
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// Every pause in order (`attempts - 1` of them).
    public var schedule: [Double] { (1..<attempts).compactMap { delay(afterAttempt: $0) } }

    /// The longest a parent is retried for: the sum of the pauses.
    public var totalDelay: Double { schedule.reduce(0, +) }
}
