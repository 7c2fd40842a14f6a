import RaftCore

/// Runs one libuv loop on its own thread and any number of nodes on it (a whole test cluster
/// can share one host). All callbacks of its nodes run on that thread.
public final class UVHost {
    let loop: UVLoop
    private let lock = Lock()
    private var nodes: [ObjectIdentifier: HostedNode] = [:]
    private var closed = false

    public init() throws {
        loop = try UVLoop()
        // The loop thread already runs and reads its hooks: install ours on that thread.
        let id = ObjectIdentifier(self)
        _ = loop.sync { [unowned self] in self.loop.setHook(id, order: 0) { [unowned self] in self.pumpAll() } }
    }

    private var loopNodes: [HostedNode] = []

    private func pumpAll() {
        for n in loopNodes where n.dirty { n.pump() }
        if loopNodes.contains(where: { $0.dirty && !$0.stopped }) { loop.requestAnotherTurn() }
    }

    /// Starts a node. `stateMachine` and `onEvent` are called on the loop thread.
    /// `log`, when given, makes the node's log instead of a FileLog in `config.dataDir` (which is
    /// then unused): any `RaftLog`, made once on the loop thread as the node starts and used only
    /// there; a `ClosableRaftLog` is closed after the node's last sync when it stops.
    /// `customSend`, when given, replaces TCP: frames go to it (on the loop thread) and come back
    /// via `deliver`; the node binds nothing and `config.listenAddress` is only its advertised
    /// member address (it may be empty).
    public func startNode(_ config: RuntimeNodeConfig, stateMachine: StateMachine,
                          log: (() throws -> RaftLog)? = nil,
                          customSend: ((NodeID, [UInt8]) -> Void)? = nil,
                          onEvent: @escaping (RaftEvent) -> Void = { _ in }) throws -> HostedNode {
        let node = HostedNode(config: config, host: self, stateMachine: stateMachine, makeLog: log,
                              customSend: customSend, onEvent: onEvent)
        let result: Result<Void, Error>? = loop.sync { [self] in
            if loopNodes.contains(where: { $0.id == config.id && !$0.stopped }) {
                return .failure(StartError.duplicateNode(config.id))
            }
            do {
                try node.start()
                loopNodes.append(node)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        guard let result else { throw StartError.hostStopped }
        try result.get()
        lock.lock()
        nodes[ObjectIdentifier(node)] = node
        lock.unlock()
        return node
    }

    func forget(_ node: HostedNode) {
        loop.post { [self] in loopNodes.removeAll { $0 === node } }
        lock.lock()
        nodes[ObjectIdentifier(node)] = nil
        lock.unlock()
    }

    /// Stops every node, closes every handle and ends the loop thread. Idempotent.
    public func shutdown() {
        lock.lock()
        guard !closed else { lock.unlock(); return }
        closed = true
        lock.unlock()
        loop.shutdown { [self] in
            for n in loopNodes { n.shutdownOnLoop() }
            loopNodes.removeAll()
        }
        lock.lock()
        nodes.removeAll()
        lock.unlock()
    }

    deinit { shutdown() }
}
