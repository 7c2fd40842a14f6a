import RaftCore

/// A node's own options (`NodeOptions`, not replicated). A host changes them by restarting the
/// node with new ones, as the seed's tests rewrote each node's stored settings.
extension SimCluster {
    /// The options `id` runs with: as `Options.configureNode` made them, then as
    /// `restart(_:adjusting:)` changed them.
    public func nodeOptions(_ id: NodeID) -> NodeOptions { node(id).options }

    /// `restart(id)` with the node's options changed by `adjust` first (e.g. its
    /// `electionTimeoutRange`; nil returns it to the cluster settings' range). The id stays.
    public func restart(_ id: NodeID, adjusting adjust: (inout NodeOptions) -> Void) {
        let n = node(id)
        adjust(&n.options)
        n.options.id = id
        restart(id)
    }
}
