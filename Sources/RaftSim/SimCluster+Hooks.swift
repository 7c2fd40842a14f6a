import RaftCore

/// Several observers, filters and invariants at once: each `add…` returns a token that
/// `removeHook` takes back. The single-closure properties (`onApply`, `afterStep`, `filter`)
/// still work and run first.
extension SimCluster {
    /// Names one added hook, for `removeHook`.
    public struct HookToken: Hashable, Sendable {
        let id: Int
    }

    /// `observer` is called for every successful apply on any node: (node, index, command).
    @discardableResult
    public func addApplyObserver(_ observer: @escaping (NodeID, LogIndex, [UInt8]) -> Void) -> HookToken {
        let t = hooks.newToken()
        hooks.apply.append((t, observer))
        return t
    }

    /// `observer` is called after every step (each handled message and each node action).
    @discardableResult
    public func addStepObserver(_ observer: @escaping (SimCluster) -> Void) -> HookToken {
        let t = hooks.newToken()
        hooks.step.append((t, observer))
        return t
    }

    /// Adds a filter on messages leaving for the network. Filters run in the order added, after
    /// `filter`; the first that does not say `.deliver` decides.
    @discardableResult
    public func addFilter(_ filter: @escaping (Message) -> Verdict) -> HookToken {
        let t = hooks.newToken()
        hooks.filters.append((t, filter))
        return t
    }

    /// A property of the user's that must hold after every step: `check` returns nil when it
    /// holds, or what is wrong. A failure lands in `invariantViolations` with the step number.
    @discardableResult
    public func addInvariant(_ name: String, _ check: @escaping (SimCluster) -> String?) -> HookToken {
        let t = hooks.newToken()
        hooks.invariants.append((t, name, check))
        return t
    }

    public func removeHook(_ token: HookToken) {
        hooks.apply.removeAll { $0.0 == token }
        hooks.step.removeAll { $0.0 == token }
        hooks.filters.removeAll { $0.0 == token }
        hooks.invariants.removeAll { $0.0 == token }
    }

    /// Checks every invariant now (they also run after every step).
    public func checkInvariants() {
        for (_, name, check) in hooks.invariants {
            if let message = check(self) {
                invariantViolations.append(Violation(property: name, message: "\(name): \(message)", step: step))
            }
        }
    }

    func verdict(_ m: Message) -> Verdict {
        if let f = filter {
            let v = f(m)
            if v != .deliver { return v }
        }
        for (_, f) in hooks.filters {
            let v = f(m)
            if v != .deliver { return v }
        }
        return .deliver
    }

    func notifyApply(_ node: NodeID, _ index: LogIndex, _ command: [UInt8]) {
        onApply?(node, index, command)
        for (_, o) in hooks.apply { o(node, index, command) }
    }

    /// Counts the step and runs what watches steps. A hook that drives the cluster itself does
    /// not start the hooks again from inside.
    func stepTaken() {
        step += 1
        guard !hooks.running else { return }
        hooks.running = true
        defer { hooks.running = false }
        afterStep?()
        for (_, o) in hooks.step { o(self) }
        if !hooks.invariants.isEmpty { checkInvariants() }
    }
}

/// What `SimCluster+Hooks` keeps (an extension cannot hold stored properties).
struct SimHooks {
    var next = 0
    var apply: [(SimCluster.HookToken, (NodeID, LogIndex, [UInt8]) -> Void)] = []
    var step: [(SimCluster.HookToken, (SimCluster) -> Void)] = []
    var filters: [(SimCluster.HookToken, (Message) -> SimCluster.Verdict)] = []
    var invariants: [(SimCluster.HookToken, String, (SimCluster) -> String?)] = []
    var running = false
    /// Client operations waiting for their command's outcome, by request id.
    var awaiting: [UInt64: (CommandOutcome) -> Void] = [:]

    mutating func newToken() -> SimCluster.HookToken {
        next += 1
        return SimCluster.HookToken(id: next)
    }
}
