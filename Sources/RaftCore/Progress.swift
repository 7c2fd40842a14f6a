/// The leader's view of one follower (etcd's Progress): what it is known to hold, what to send
/// next, and how many appends are unacknowledged.
struct Progress {
    enum State: Equatable {
        /// Unknown match: one append at a time until the follower accepts one.
        case probe
        /// Known match: stream appends optimistically, up to the inflight window.
        case replicate
        /// Sending a snapshot; appends pause until it is installed.
        case snapshot(LogIndex)
    }

    var match: LogIndex = 0
    var next: LogIndex
    var state: State = .probe
    /// In probe state: an append is outstanding, so wait for its answer (or the next heartbeat).
    var probeSent = false
    /// Last index of each unacknowledged append, oldest first.
    var inflight: [LogIndex] = []
    /// Heard from since the last check-quorum round.
    var recentActive = false
    /// Driver time of the follower's last answer (for hosts: time since last contact).
    var lastContact: Nanos?

    init(next: LogIndex) { self.next = next }

    mutating func becomeProbe(next newNext: LogIndex) {
        state = .probe
        next = max(newNext, match + 1)
        probeSent = false
        inflight.removeAll()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflight.removeAll()
    }

    /// Records a successful acknowledgement; false when it told us nothing new.
    mutating func acknowledge(_ index: LogIndex) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
        }
        if next < index + 1 { next = index + 1 }
        while let first = inflight.first, first <= index { inflight.removeFirst() }
        return updated
    }

    func isPaused(maxInflight: Int) -> Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflight.count >= maxInflight
        case .snapshot: return true
        }
    }
}
