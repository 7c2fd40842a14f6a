import CLibUV
import RaftCore

/// A node started with join addresses asks the cluster to add it, until it is a member. It
/// never bootstrapped, so until then it has no configuration and cannot campaign.
extension HostedNode {
    /// Backoff between attempts: 100 ms doubling to 2 s.
    static func joinDelay(attempt: Int) -> UInt64 { min(2000, 100 << UInt64(min(attempt, 5))) }

    /// Loop thread, at start.
    func startJoining() {
        guard !config.joinAddresses.isEmpty, let raft, !raft.hasBeenMember else { return }
        joinOnce()
    }

    /// Sends one join request to the next address in turn.
    private func joinOnce() {
        guard !stopped, let raft, !raft.config.contains(id) else { return }
        let address = config.joinAddresses[joinAttempts % config.joinAddresses.count]
        joinAttempts += 1
        let rid = nextRequestID
        nextRequestID += 1
        completions[rid] = { [weak self] outcome in
            guard let self, !self.stopped else { return }
            if case .applied = outcome { return }
            self.scheduleJoin(after: Self.joinDelay(attempt: self.joinAttempts - 1))
        }
        // "@HOST:PORT" names the node by address alone: we do not know its id yet.
        raft.join(leader: "@" + address, address: advertisedAddress, asVoter: true, requestID: rid,
                  timeout: config.commandTimeout)
        dirty = true
    }

    private func scheduleJoin(after ms: UInt64) {
        if joinTimer == nil {
            let t = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
            uv_timer_init(loop.loop, t)
            t.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            joinTimer = t
        }
        uv_timer_start(joinTimer, { t in
            guard let t, let data = t.pointee.data else { return }
            let me = Unmanaged<HostedNode>.fromOpaque(data).takeUnretainedValue()
            me.joinOnce()
        }, ms, 0)
    }
}
