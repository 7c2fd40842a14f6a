import Foundation
import RaftCore
import RaftUV

/// Closed-loop load at the leader: keeps `inFlight` commands outstanding by submitting a new
/// one from each completion (completions run on the leader's loop thread). Counts and times
/// only the commands that complete inside the measurement window. A command that fails (the
/// node lost leadership, say) is sent again a millisecond later to whichever node `target`
/// then names, so a leader change shows as a pause and a failure count, not a busy loop.
final class LoadDriver {
    struct Result {
        var inFlight: Int
        var commandBytes: Int
        var committed: Int
        var failed: Int
        var seconds: Double
        /// Submit-to-completion times, nanoseconds, sorted.
        var latencies: [UInt64]
        var commandsPerSecond: Double { Double(committed) / seconds }
        var megabytesPerSecond: Double { Double(committed * commandBytes) / seconds / 1e6 }
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e9
        }
    }

    let target: () -> HostedNode?
    /// The node commands go to; looked up again only after a failure.
    private var current: HostedNode?
    let payload: [UInt8]
    private let lock = NSLock()
    private var running = true
    private var measuring = false
    private var outstanding = 0
    private var committed = 0
    private var failed = 0
    private var totalCommitted = 0
    private var latencies: [UInt64] = []
    private let recordLatencies: Bool

    init(target: @escaping () -> HostedNode?, commandBytes: Int, recordLatencies: Bool = true) {
        self.target = target
        current = target()
        payload = [UInt8](repeating: 0x42, count: commandBytes)
        self.recordLatencies = recordLatencies
        latencies.reserveCapacity(1 << 20)
    }

    private func submitOne() {
        let t0 = monotonicNanos()
        lock.lock(); outstanding += 1; let node = current; lock.unlock()
        let posted = node?.submit(payload) { [self] outcome in
            let t1 = monotonicNanos()
            lock.lock()
            outstanding -= 1
            var ok = false
            if case .applied = outcome {
                ok = true
                totalCommitted += 1
                if measuring {
                    committed += 1
                    if recordLatencies { latencies.append(t1 - t0) }
                }
            } else {
                failed += 1
            }
            let again = running
            lock.unlock()
            if again { ok ? submitOne() : retryLater() }
        } ?? false
        if !posted {
            lock.lock()
            outstanding -= 1
            failed += 1
            let again = running
            lock.unlock()
            if again { retryLater() }
        }
    }

    private func retryLater() {
        lock.lock(); outstanding += 1; lock.unlock()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(1)) { [self] in
            let node = target()
            lock.lock(); outstanding -= 1; current = node ?? current; let again = running; lock.unlock()
            if again { submitOne() }
        }
    }

    var totalCommittedSoFar: Int { lock.lock(); defer { lock.unlock() }; return totalCommitted }

    func begin(inFlight: Int) {
        for _ in 0..<inFlight { submitOne() }
    }

    /// Opens the measurement window; returns its start time.
    func startWindow() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        measuring = true; committed = 0; failed = 0; latencies.removeAll(keepingCapacity: true)
        return monotonicNanos()
    }

    /// Closes the window, stops resubmitting and waits for the outstanding commands to finish.
    func finish(inFlight: Int, windowStart: UInt64) -> Result {
        lock.lock()
        measuring = false
        let end = monotonicNanos()
        running = false
        var r = Result(inFlight: inFlight, commandBytes: payload.count, committed: committed, failed: failed,
                       seconds: Double(end - windowStart) / 1e9, latencies: latencies)
        lock.unlock()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            lock.lock(); let left = outstanding; lock.unlock()
            if left == 0 { break }
            usleep(1_000)
        }
        r.latencies.sort()
        return r
    }

    /// Runs one row: warm-up, then a timed window.
    static func run(target: @escaping () -> HostedNode?, commandBytes: Int, inFlight: Int, warmup: Double,
                    window: Double) -> Result {
        let d = LoadDriver(target: target, commandBytes: commandBytes)
        d.begin(inFlight: inFlight)
        usleep(UInt32(warmup * 1e6))
        let start = d.startWindow()
        usleep(UInt32(window * 1e6))
        return d.finish(inFlight: inFlight, windowStart: start)
    }
}
