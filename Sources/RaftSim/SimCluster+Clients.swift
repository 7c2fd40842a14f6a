import RaftCore

/// Client operations recorded into a `ClientHistory` as a cluster runs them: the invocation at
/// the step the client sends it, the completion at the step its outcome appears.
extension SimCluster {
    /// Proposes `command` at `node` as operation `input` of `history`. When the outcome comes,
    /// an applied result becomes the operation's output through `output`; a refusal or a
    /// redirect means it never took effect; a timeout, a stop or a stepped-down leader leave it
    /// pending (it may or may not have taken effect). Returns the request id.
    @discardableResult
    public func propose<M: LinearizabilityModel>(_ command: String, at node: NodeID, as input: M.Input, in history: ClientHistory<M>,
                           client: String = "c", output: @escaping ([UInt8]) -> M.Output) -> UInt64 {
        propose(bytes: Array(command.utf8), at: node, as: input, in: history, client: client, output: output)
    }

    /// As `propose(_:at:as:in:client:output:)` with a command of any bytes (C and Python hosts').
    @discardableResult
    public func propose<M: LinearizabilityModel>(bytes command: [UInt8], at node: NodeID, as input: M.Input, in history: ClientHistory<M>,
                           client: String = "c", output: @escaping ([UInt8]) -> M.Output) -> UInt64 {
        let op = history.invoke(input, client: client, step: step)
        let rid = newRequestID()
        hooks.awaiting[rid] = { [unowned self] outcome in
            self.completeClientOperation(outcome, of: op, in: history) { output($0) }
        }
        record(.event(node: node, op: "CMD START"))
        with(node) { $0.propose(command, id: rid) }
        return rid
    }

    /// A linearizable read (ReadIndex) at `node`: once the node answers, `value` reads the
    /// node's state machine, which has applied at least up to the read's index by then.
    @discardableResult
    public func read<M: LinearizabilityModel>(at node: NodeID, as input: M.Input, in history: ClientHistory<M>, client: String = "c",
                        value: @escaping (SimNode) -> M.Output) -> UInt64 {
        let op = history.invoke(input, client: client, step: step)
        let rid = newRequestID()
        hooks.awaiting[rid] = { [unowned self] outcome in
            self.completeClientOperation(outcome, of: op, in: history) { _ in value(self.node(node)) }
        }
        with(node) { $0.readIndex(requestID: rid) }
        return rid
    }

    /// A read of `node`'s local state with no check that it still leads (what a lease-less
    /// "read at the leader" does): invoked and answered at once. It can be stale.
    @discardableResult
    public func readLocally<M: LinearizabilityModel>(at node: NodeID, as input: M.Input, in history: ClientHistory<M>, client: String = "c",
                               value: (SimNode) -> M.Output) -> Int {
        let op = history.invoke(input, client: client, step: step)
        history.complete(op, value(self.node(node)), step: step)
        return op
    }

    private func completeClientOperation<M: LinearizabilityModel>(_ outcome: CommandOutcome, of op: Int, in history: ClientHistory<M>,
                           output: ([UInt8]) -> M.Output) {
        switch outcome {
        case .applied(let bytes): history.complete(op, output(bytes), step: step)
        case .timeout, .stopped, .rejected(.leaderSteppedDown): break
        case .redirect, .retry, .applyError, .rejected: history.fail(op, step: step)
        }
    }

    /// Hands a completion to the client operation waiting for it, if any.
    func deliverCompletion(_ c: Completion) {
        guard !hooks.awaiting.isEmpty, let waiting = hooks.awaiting.removeValue(forKey: c.id) else { return }
        waiting(c.outcome)
    }
}
