/// The leader's view of one follower (etcd's tracker.Progress): what it is known to hold, what
/// to send it next, and the appends it has not acknowledged yet.
struct Progress {
    enum State: Equatable {
        /// Unknown match: one append at a time until the follower accepts one.
        case probe
        /// Known match: stream appends optimistically, up to the inflight window.
        case replicate
        /// Sending the snapshot up to `index`; appends pause until it is installed. `offset` is
        /// where the next chunk starts (the follower's last acknowledged offset).
        case snapshot(index: LogIndex, offset: UInt64)
    }

    /// Highest index known to be on the follower.
    var match: LogIndex = 0
    /// Next index to send.
    var next: LogIndex
    var state: State = .probe
    /// In probe state: an append is outstanding, so wait for its answer (or the next heartbeat).
    var probeSent = false
    /// Appends sent in replicate state and not yet acknowledged.
    var inflight = Inflights()
    /// Heard from since the last check-quorum round.
    var recentActive = false
    /// Driver time of the follower's last answer (for hosts: time since last contact).
    var lastContact: Nanos?

    init(next: LogIndex) { self.next = next }

    mutating func becomeProbe(next newNext: LogIndex) {
        state = .probe
        next = max(newNext, match + 1)
        probeSent = false
        inflight.reset()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflight.reset()
    }

    /// Starts (or restarts from the beginning) sending the snapshot up to `index`.
    mutating func becomeSnapshot(index: LogIndex) {
        state = .snapshot(index: index, offset: 0)
        inflight.reset()
    }

    /// Records a successful acknowledgement; false when it told us nothing new.
    mutating func acknowledge(_ index: LogIndex) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
        }
        if next < index + 1 { next = index + 1 }
        inflight.free(through: index)
        return updated
    }

    /// Records an append just sent: in replicate state its entries (through `lastIndex`,
    /// `bytes` of payload; nil for none) join the window, in probe state it is the one probe.
    mutating func sentAppend(lastIndex: LogIndex?, bytes: UInt64) {
        switch state {
        case .replicate:
            if let lastIndex {
                next = lastIndex + 1
                inflight.add(index: lastIndex, bytes: bytes)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }

    /// True when no append may go now: a probe awaits its answer, the window is full, or a
    /// snapshot is being sent.
    func isPaused(maxInflight: Int, maxInflightBytes: UInt64) -> Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflight.isFull(maxCount: maxInflight, maxBytes: maxInflightBytes)
        case .snapshot: return true
        }
    }
}
