import RaftCore
import RaftKV

/// The data commands: classified by the state machine (RaftKV), writes replicated through
/// the Raft log carrying the leader's clock (TTLs judge by it on every replica), reads served
/// by the leader after a ReadIndex check, MULTI/EXEC as one log entry.
///
/// Per loop turn, not per request: the writes a turn receives (from every connection) go into
/// the log as one entry, a `.transaction` of independent commands whose array reply is split
/// back into each client's reply, and the reads a turn receives share one ReadIndex. Both are
/// asked for in the turn hook that runs before the node's pump, so the pump sends them at once.
extension KVServer {
    /// A client waiting for its write's reply.
    struct WriteWaiter {
        let session: RESPSession
        let slot: Int
        /// For MOVED: where the command's first key lies among the batch's commands.
        let key: Range<Int>?
        /// The protocol the client spoke when it sent the command.
        let proto: Int
    }

    /// Largest batch of writes in one entry (bytes of arguments): keeps one entry well inside
    /// the command size limit and a follower's append of it short.
    var batchLimit: Int { min(64 << 10, maxRequestBytes) }

    /// An authenticated client's command outside MULTI that the server does not answer itself,
    /// still in the parser's buffer. False (nothing done) for anything but a read while the
    /// connection's reads wait.
    func dataCommand(_ args: RESPArgs, _ session: RESPSession, readsWaiting: Bool) -> Bool {
        let (kind, name) = KVStateMachine.classify(args)
        if readsWaiting {
            guard case .read = kind else { return false }
        }
        commandsProcessed += 1
        session.client.lastCommandName = name ?? args.array(0)
        switch kind {
        case .write:
            let slot = session.reserve()
            let size = KVWriteBatch.size(of: args)
            if pendingWrites.count > 0 && pendingWrites.byteCount + size > batchLimit { proposeWrites() }
            let key = pendingWrites.add(args)
            pendingWaiters.append(WriteWaiter(session: session, slot: slot, key: key, proto: session.client.proto))
        case .read:
            // The name from the table, the rest copied: the read runs later, at the flush.
            var a: [[UInt8]] = []
            a.reserveCapacity(args.count)
            a.append(name!)
            for i in 1..<args.count { a.append(args.array(i)) }
            pendingReads.append((session, session.reserveRead(a)))
        case .unknown(let error), .arity(let error):
            errorReplies += 1
            session.reply(error.encoded)
        }
        return true
    }

    /// The turn hook before the pump: a snapshot if one is due, the turn's writes as one
    /// proposal, then one ReadIndex for the turn's reads (asked after every one of them
    /// arrived, so each is linearizable).
    func beforePump() {
        snapshotIfDue()
        proposeWrites()
        guard !pendingReads.isEmpty else { return }
        let reads = pendingReads
        pendingReads.removeAll(keepingCapacity: true)
        node.linearizableRead { [self] outcome in
            if case .applied = outcome {
                for (s, slot) in reads { s.confirm(slot) }
            } else {
                for (s, slot) in reads {
                    errorReplies += 1
                    s.fill(slot, encode(outcome, key: s.readKey(slot))[...])
                }
            }
            flushReplies()
        }
    }

    /// Proposes the writes gathered so far: one command as `.exec`, more as one `.transaction`
    /// (the same execution, in order, at one time, each command's failure its own reply).
    func proposeWrites() {
        guard pendingWrites.count > 0 else { return }
        let waiters = pendingWaiters
        pendingWaiters.removeAll(keepingCapacity: true)
        let (entry, offset) = pendingWrites.takeEntry(nowMs: leaderTime())
        // The key of a refused write, for MOVED's slot (read back from the entry).
        let key = { (w: WriteWaiter) in w.key.map { Array(entry[($0.lowerBound + offset)..<($0.upperBound + offset)]) } }
        let submitted = node.submit(entry) { [self] outcome in
            // Outcomes arrive as soon as a commit makes them (HostedNode): write them now.
            defer { flushReplies() }
            guard case .applied(let bytes) = outcome, waiters.count > 1 else {
                for w in waiters { deliver(w, encode(outcome, key: key(w))[...]) }
                return
            }
            guard let parts = RESPSplit.arrayItems(bytes, count: waiters.count) else {
                let e = RESPValue.error("ERR unexpected reply from the state machine").encoded
                for w in waiters { deliver(w, e[...]) }
                return
            }
            for (w, r) in zip(waiters, parts) { deliver(w, bytes[r]) }
        }
        if !submitted {
            for w in waiters { deliver(w, encode(.stopped)[...]) }
        }
    }

    private func deliver(_ w: WriteWaiter, _ reply: ArraySlice<UInt8>) {
        if reply.first == UInt8(ascii: "-") { errorReplies += 1 }
        if w.proto == 3, !RESP3.isSameInRESP3(Array(reply)) {
            w.session.fill(w.slot, RESP3.upgrade(Array(reply), command: "")[...])
        } else {
            w.session.fill(w.slot, reply)
        }
    }

    /// A confirmed read, run now against the state machine (at the session's flush, after the
    /// writes the connection sent before it), its reply encoded into `out`.
    func runRead(_ args: [[UInt8]], proto: Int, into out: inout [UInt8]) {
        let v = machine.read(args, nowMs: leaderTime())
        if case .error = v { errorReplies += 1 }
        if proto == 3 {
            v.encode3(into: &out, asMap: KVCommandName(args[0]) == Self.hgetall)
        } else {
            v.encode(into: &out)
        }
    }

    private static let hgetall = KVCommandName("HGETALL")

    /// MULTI, EXEC, DISCARD, WATCH and UNWATCH; false for any other name.
    func transactionCommand(_ name: String, _ s: ClientSession, _ reply: @escaping Respond) -> Bool {
        switch name {
        case "MULTI":
            guard s.queued == nil else { reply(RESPValue.error("ERR MULTI calls can not be nested").encoded); return true }
            s.queued = []
            s.multiFailed = false
            reply(RESPValue.ok.encoded)
        case "EXEC":
            guard let queued = s.queued else { reply(RESPValue.error("ERR EXEC without MULTI").encoded); return true }
            s.queued = nil
            if s.multiFailed {
                reply(RESPValue.error("EXECABORT Transaction discarded because of previous errors.").encoded)
            } else if queued.isEmpty {
                reply(RESPValue.array([]).encoded)
            } else {
                // After the writes this turn gathered: the log keeps each connection's order.
                proposeWrites()
                let key = queued.first.flatMap { $0.count > 1 ? $0[1] : nil }
                let submitted = node.submit(KVCommand.transaction(nowMs: leaderTime(), commands: queued).encoded) {
                    reply(self.encode($0, key: key))
                }
                if !submitted { reply(encode(.stopped)) }
            }
        case "DISCARD":
            guard s.queued != nil else { reply(RESPValue.error("ERR DISCARD without MULTI").encoded); return true }
            s.queued = nil
            reply(RESPValue.ok.encoded)
        case "WATCH", "UNWATCH":
            reply(RESPValue.error("ERR WATCH is not supported (every write goes through the Raft log; MULTI/EXEC is atomic)").encoded)
        default:
            return false
        }
        return true
    }

    /// A command given inside MULTI: checked now (a bad one aborts EXEC), run at EXEC.
    func queueInMulti(_ args: [[UInt8]], name: String, session s: ClientSession, reply: Respond) {
        switch KVStateMachine.classify(args) {
        case .write, .read:
            s.queued?.append(args)
            reply(RESPValue.simple("QUEUED").encoded)
        case .unknown(let error), .arity(let error):
            s.multiFailed = true
            reply(error.encoded)
        }
    }

    /// The time a write carries: the leader's clock, never behind what was applied already
    /// (a new leader whose clock is behind its predecessor's must not move TTLs backwards).
    func leaderTime() -> UInt64 { max(wallClockMs(), machine.lastAppliedTime) }
}

/// Splits RESP replies without decoding them.
enum RESPSplit {
    /// The byte ranges of the `count` items of one array reply (`*count` then the items), nil
    /// if the bytes are not that.
    static func arrayItems(_ b: [UInt8], count: Int) -> [Range<Int>]? {
        var i = 0
        guard b.first == UInt8(ascii: "*"), let n = integerLine(b, &i), n == count else { return nil }
        var out: [Range<Int>] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let start = i
            guard skipValue(b, &i) else { return nil }
            out.append(start..<i)
        }
        return i == b.count ? out : nil
    }

    /// Reads the integer after the type byte at `i` up to CRLF; `i` moves past the CRLF.
    private static func integerLine(_ b: [UInt8], _ i: inout Int) -> Int? {
        var j = i + 1
        var neg = false
        if j < b.count && b[j] == UInt8(ascii: "-") { neg = true; j += 1 }
        var n = 0
        let digits = j
        while j < b.count, b[j] >= 48, b[j] <= 57, j - digits < 18 { n = n * 10 + Int(b[j] - 48); j += 1 }
        guard j > digits, j + 1 < b.count, b[j] == 13, b[j + 1] == 10 else { return nil }
        i = j + 2
        return neg ? -n : n
    }

    /// Moves `i` past one complete RESP2 value; false if it is not one.
    private static func skipValue(_ b: [UInt8], _ i: inout Int) -> Bool {
        guard i < b.count else { return false }
        switch b[i] {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            var j = i + 1
            while j + 1 < b.count && !(b[j] == 13 && b[j + 1] == 10) { j += 1 }
            guard j + 1 < b.count else { return false }
            i = j + 2
            return true
        case UInt8(ascii: "$"):
            guard let n = integerLine(b, &i) else { return false }
            if n < 0 { return true }
            guard i + n + 2 <= b.count, b[i + n] == 13, b[i + n + 1] == 10 else { return false }
            i += n + 2
            return true
        case UInt8(ascii: "*"):
            guard let n = integerLine(b, &i) else { return false }
            if n < 0 { return true }
            for _ in 0..<n { guard skipValue(b, &i) else { return false } }
            return true
        default:
            return false
        }
    }
}
