import RaftCore

/// Commands submitted together, whose outcomes go to the host together: one callback per pump
/// round with every outcome that round produced, instead of one per command (a C or Python
/// host pays for each crossing).
final class CommandBatch {
    let deliver: ([(Int, CommandOutcome)]) -> Void
    var ready: [(Int, CommandOutcome)] = []
    var waiting = false

    init(deliver: @escaping ([(Int, CommandOutcome)]) -> Void) { self.deliver = deliver }
}

extension HostedNode {
    /// Proposes `commands` in one loop turn; `completion` gets (position in `commands`,
    /// outcome) pairs in batches, on the loop thread, each command's exactly once. False
    /// (without calling `completion`) when the node is stopped.
    @discardableResult
    public func submitBatch(_ commands: [[UInt8]], completion: @escaping ([(Int, CommandOutcome)]) -> Void) -> Bool {
        let batch = CommandBatch(deliver: completion)
        let propose: () -> Void = { [self] in
            guard let raft, !stopped else {
                completion(commands.indices.map { ($0, .stopped) })
                return
            }
            for (k, command) in commands.enumerated() {
                let rid = nextRequestID
                nextRequestID += 1
                completions[rid] = { [unowned self] outcome in self.note(batch, k, outcome) }
                raft.propose(command, id: rid)
            }
            dirty = true
        }
        if loop.isLoopThread && !machine.isRunning && !stopped && raft != nil {
            propose()
            return true
        }
        return loop.post(propose)
    }

    private func note(_ batch: CommandBatch, _ k: Int, _ outcome: CommandOutcome) {
        batch.ready.append((k, outcome))
        if !batch.waiting {
            batch.waiting = true
            batchesToFlush.append(batch)
        }
    }

    /// Hands every batch its outcomes of this round (loop thread, end of a pump round).
    func flushBatches() {
        while !batchesToFlush.isEmpty {
            let due = batchesToFlush
            batchesToFlush.removeAll()
            for b in due {
                let out = b.ready
                b.ready.removeAll(keepingCapacity: true)
                b.waiting = false
                b.deliver(out)
            }
        }
    }
}
