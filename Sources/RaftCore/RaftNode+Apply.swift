/// Commit, apply and the configuration in force.
extension RaftNode {
    func advanceCommit(to index: LogIndex) {
        guard index > commitIndex else { return }
        commitIndex = index
        do { try log.saveCommitIndex(index) } catch { return storageFailed(error) }
        if !options.deferredApply { applyCommitted() }
        if role == .leader { startDeferredChangeIfAllowed() }
    }

    /// Committed entries wait to be applied (`NodeOptions.deferredApply`).
    /// False while a failed apply waits for its retry, and always without deferredApply.
    public var hasEntriesToApply: Bool {
        guard options.deferredApply, !stopped, appliedIndex < commitIndex else { return false }
        if applyBlocked, let due = applyRetryAt, now < due { return false }
        return true
    }

    /// Applies what has committed since the last call (`NodeOptions.deferredApply`); the
    /// outcomes are in the next `takeReady()`.
    public func applyCommittedEntries() {
        guard !stopped else { return }
        applyCommitted()
    }

    /// Applies committed entries in log order, exactly once each. Under the retry policy it
    /// stops at a failed apply (nothing after it may apply first) until the retry is due.
    func applyCommitted() {
        if applyBlocked, let due = applyRetryAt, now < due { return }
        applyBlocked = false
        while appliedIndex < commitIndex && !stopped {
            let entries: [Entry]
            do {
                entries = try log.entries(from: appliedIndex + 1, through: commitIndex, maxBytes: 4 << 20)
            } catch {
                return storageFailed(error)
            }
            if let batch = stateMachine as? BatchStateMachine {
                guard applyInBatches(entries, batch) else { return }
                continue
            }
            for e in entries {
                guard apply(e) else { return }
                appliedIndex = e.index
            }
        }
        maybeAutoSnapshot()
        if role == .leader {
            releaseReadsAwaitingTermCommit()
            serveReads()
        }
    }

    /// Runs of consecutive commands go to the machine in one call; other entries one by one.
    /// False when applying must stop here.
    private func applyInBatches(_ entries: [Entry], _ machine: BatchStateMachine) -> Bool {
        var i = 0
        while i < entries.count && !stopped {
            guard entries[i].kind == .command else {
                guard apply(entries[i]) else { return false }
                appliedIndex = entries[i].index
                i += 1
                continue
            }
            var end = i
            while end < entries.count && entries[end].kind == .command { end += 1 }
            let run = entries[i..<end].map { (index: $0.index, command: $0.data) }
            let results = machine.applyBatch(run, stopAtFailure: settings.applyPolicy != .reject)
            for (k, r) in results.prefix(run.count).enumerated() {
                let e = entries[i + k]
                switch r {
                case .success(let bytes): applied(e, bytes)
                case .failure(let error): guard applyFailed(e, error) else { return false }
                }
                appliedIndex = e.index
            }
            // Fewer results: the rest were not applied; they are offered again.
            guard results.count >= run.count else { return results.count > 0 }
            i = end
        }
        return true
    }

    /// Completes the proposal of a command that applied.
    private func applied(_ e: Entry, _ result: [UInt8]) {
        if applyRetry != nil { applyRetry = nil }
        if let p = pending[e.index] {
            pending[e.index] = nil
            complete(p.id, p.term == e.term ? .applied(result) : notLeaderOutcome())
        }
    }

    /// Applies one committed entry; false when applying must stop here.
    private func apply(_ e: Entry) -> Bool {
        switch e.kind {
        case .termStart:
            break
        case .config:
            commitConfigEntry(e)
        case .command:
            do {
                applied(e, try stateMachine.apply(e.data, index: e.index))
            } catch {
                return applyFailed(e, error)
            }
        }
        return true
    }

    /// The cluster's apply policy decides what a failure means. True when applying goes on.
    private func applyFailed(_ e: Entry, _ error: Error) -> Bool {
        let reason = "\(error)"
        let policy = settings.applyPolicy
        emit(.applyFailed(index: e.index, reason: reason, policy: policy))
        switch policy {
        case .reject:
            // The command's deterministic result on every replica (the seed library had no such
            // policy: one bad command stopped the leader, then the next, then the cluster).
            if let p = pending.removeValue(forKey: e.index) {
                complete(p.id, p.term == e.term ? .applyError(reason) : notLeaderOutcome())
            }
            return true
        case .retry:
            // Later entries wait so order is kept (the seed library applied them and could skip
            // the failed one forever). The proposer waits for the retry or its timeout.
            var r = applyRetry ?? ApplyRetry(index: e.index, attempts: 0, delay: options.applyRetryInitial)
            if r.index != e.index { r = ApplyRetry(index: e.index, attempts: 0, delay: options.applyRetryInitial) }
            r.attempts += 1
            applyRetryAt = now &+ r.delay
            r.delay = min(r.delay * 2, options.applyRetryMax)
            applyRetry = r
            applyBlocked = true
            return false
        case .halt:
            if let p = pending.removeValue(forKey: e.index) { complete(p.id, .applyError(reason)) }
            do { try log.setBroken(true) } catch { emit(.error("could not mark the log broken: \(error)")) }
            ready.needsSync = true
            emit(.stopCommanded(reason: .applyHalted(index: e.index, reason: reason)))
            stop()
            return false
        }
    }

    /// Timer: a retry of a failed apply is due.
    func retryApplyIfDue() {
        if applyBlocked, let due = applyRetryAt, now >= due { applyCommitted() }
    }

    /// Settings switch when their config entry commits; membership switched on append.
    private func commitConfigEntry(_ e: Entry) {
        guard let c = try? ClusterConfig(decoding: e.data) else {
            emit(.error("config entry \(e.index) cannot be decoded"))
            return
        }
        if c.settings != settings {
            settings = c.settings
            emit(.settingsChanged(c.settings))
        }
        onConfigCommitted(index: e.index, config: c)
    }

    /// A config entry takes effect as soon as it is in the log (thesis §4.1).
    func adoptConfigEntry(_ e: Entry) {
        guard let c = try? ClusterConfig(decoding: e.data) else {
            emit(.error("config entry \(e.index) cannot be decoded"))
            return
        }
        applyMembership(c, index: e.index)
    }

    /// Recomputes the configuration in force from the log (on start and after truncation).
    func reloadConfig() throws {
        var c = baseConfig
        var ci: LogIndex = 0
        if let i = log.lastConfigIndex(atOrBefore: log.lastIndex) {
            let e = try log.entry(at: i)
            guard let decoded = try? ClusterConfig(decoding: e.data) else { throw RaftError.corruptConfigEntry(i) }
            c = decoded
            ci = i
        }
        if let i = log.lastConfigIndex(atOrBefore: commitIndex),
           let e = try? log.entry(at: i), let committed = try? ClusterConfig(decoding: e.data) {
            settings = committed.settings
        } else {
            settings = baseConfig.settings
        }
        applyMembership(c, index: ci)
    }

    /// Switches the membership in force, keeping leader progress in step with it.
    func applyMembership(_ c: ClusterConfig, index: LogIndex) {
        config = c
        configIndex = index
        if c.contains(id) { wasMember = true }
        guard let l = leadership else { return }
        for m in c.members where m.id != id { l.progress.insert(m.id, next: log.lastIndex + 1) }
        for peer in l.progress.ids where !c.contains(peer) && !keepsProgress(peer) {
            l.progress.remove(peer)
        }
    }
}
