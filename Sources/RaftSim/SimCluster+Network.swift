import RaftCore

/// Finer control of the network: one-way cuts, per-link loss and delay, selective release of
/// held messages, and delivery limited by count or by link.
extension SimCluster {
    /// A direction between two nodes.
    public struct Link: Hashable, Sendable {
        public var from: NodeID
        public var to: NodeID
        public init(from: NodeID, to: NodeID) {
            self.from = from
            self.to = to
        }
    }

    /// A link's misbehaviour: each message is lost with probability `loss` (0...1, drawn from
    /// the cluster's seeded network generator), and the rest arrive `delay` of virtual time
    /// after they were sent (moved into the inbox by `advance`).
    public struct LinkFault: Equatable, Sendable {
        public var loss: Double
        public var delay: Nanos
        public init(loss: Double = 0, delay: Nanos = 0) {
            self.loss = loss
            self.delay = delay
        }
    }

    /// The order `releaseHeld` takes held messages in.
    public enum HeldOrder {
        case oldestFirst
        case newestFirst
        /// `areInIncreasingOrder` as for `sort(by:)`.
        case by((Message, Message) -> Bool)
    }

    // MARK: One-way cuts

    /// Messages from `from` to `to` are lost; the other direction still works.
    public func cut(from: NodeID, to: NodeID) {
        cuts.insert(Link(from: from, to: to))
        dropQueued { $0.from == from && $0.to == to }
        record(.event(node: from, op: "CUT"))
    }

    /// Undoes `cut(from:to:)`.
    public func uncut(from: NodeID, to: NodeID) {
        cuts.remove(Link(from: from, to: to))
        record(.event(node: from, op: "UNCUT"))
    }

    /// Sets (or with nil clears) the fault of the link from `from` to `to`.
    public func setLinkFault(from: NodeID, to: NodeID, _ fault: LinkFault?) {
        linkFaults[Link(from: from, to: to)] = fault
    }

    /// Ends every link fault (delayed messages already on their way still land).
    public func clearLinkFaults() { linkFaults.removeAll() }

    // MARK: Held messages

    /// Releases the held messages that `predicate` accepts, at most `limit` of them, in
    /// `order`; the rest stay held. A released message crosses the network as one sent now:
    /// it is lost if its receiver is down or cut off from the sender (a partition or a one-way
    /// cut), and filters are not asked again. Returns how many reached an inbox.
    @discardableResult
    public func releaseHeld(where predicate: (Message) -> Bool = { _ in true }, limit: Int = .max,
                            order: HeldOrder = .oldestFirst) -> Int {
        var picked = held.indices.filter { predicate(held[$0]) }
        switch order {
        case .oldestFirst: break
        case .newestFirst: picked.reverse()
        case .by(let less): picked.sort { less(held[$0], held[$1]) }
        }
        picked = Array(picked.prefix(max(0, limit)))
        let messages = picked.map { held[$0] }
        for i in picked.sorted(by: >) { held.remove(at: i) }
        var delivered = 0
        for m in messages {
            if let to = nodes[m.to], to.isUp, connected(m.from, m.to) {
                to.inbox.append(m)
                record(.sent(m))
                delivered += 1
            } else {
                lost.append(m)
            }
        }
        return delivered
    }

    /// Loses the held messages that `predicate` accepts.
    public func dropHeld(where predicate: (Message) -> Bool) {
        lost.append(contentsOf: held.filter(predicate))
        held.removeAll(where: predicate)
    }

    // MARK: Delivery

    /// Handles at most `count` messages, in `deliverAll`'s order (each node in turn, its oldest
    /// first), moving outboxes onto the network as it goes. Returns how many it handled.
    @discardableResult
    public func deliver(_ count: Int) -> Int {
        deliverAll(maxSteps: count) { _ in true }
    }

    /// Like `deliverAll`, but handles only the messages `predicate` accepts; the others stay in
    /// their inboxes, in order. Returns how many it handled.
    @discardableResult
    public func deliverAll(maxSteps: Int = 100_000, where predicate: (Message) -> Bool) -> Int {
        var steps = 0
        while steps < maxSteps {
            var progressed = false
            for id in ids where !node(id).outbox.isEmpty {
                transmit(id)
                progressed = true
            }
            for id in ids where steps < maxSteps {
                guard let pos = node(id).inbox.firstIndex(where: predicate), handle(id, at: pos) else { continue }
                steps += 1
                progressed = true
                transmit(id)
            }
            if !progressed { break }
        }
        return steps
    }

    /// Handles only messages between `a` and `b` (both ways) until none is left.
    @discardableResult
    public func deliverAll(between a: NodeID, and b: NodeID, maxSteps: Int = 100_000) -> Int {
        deliverAll(maxSteps: maxSteps) { ($0.from == a && $0.to == b) || ($0.from == b && $0.to == a) }
    }

    // MARK: Internals

    /// Loses the messages waiting in inboxes that `predicate` accepts.
    func dropQueued(_ predicate: (Message) -> Bool) {
        for n in nodes.values {
            lost.append(contentsOf: n.inbox.filter(predicate))
            n.inbox.removeAll(where: predicate)
        }
    }

    /// The link's fault decides a routed message's fate: false when it is lost or delayed
    /// (then it waits in `inFlight`).
    func linkLetsThrough(_ m: Message) -> Bool {
        guard let f = linkFaults[Link(from: m.from, to: m.to)] else { return true }
        if f.loss > 0, Double(networkRNG.next() % 1_000_000) < f.loss * 1_000_000 {
            lost.append(m)
            return false
        }
        if f.delay > 0 {
            inFlight.append((due: now + f.delay, message: m))
            return false
        }
        return true
    }

    /// Moves delayed messages whose time has come into their inboxes (lost if the receiver
    /// is down or cut off by then).
    func landDelayed() {
        guard !inFlight.isEmpty else { return }
        var waiting: [(due: Nanos, message: Message)] = []
        for f in inFlight {
            guard f.due <= now else {
                waiting.append(f)
                continue
            }
            if let to = nodes[f.message.to], to.isUp, connected(f.message.from, f.message.to) {
                to.inbox.append(f.message)
                record(.sent(f.message))
            } else {
                lost.append(f.message)
            }
        }
        inFlight = waiting
    }
}
