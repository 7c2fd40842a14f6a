import RaftCore
import RaftKV
import RaftUV

/// One Redis-protocol client connection. Requests may be pipelined: each gets a reply slot in
/// arrival order, and replies leave in that order however their commits interleave. Replies
/// ready during a loop turn leave in one write at the end of the turn (KVServer's turn hook).
final class RESPSession {
    private let stream: ClientStream
    private let server: KVServer
    let client: ClientSession
    private var parser: RESPParser

    enum Slot {
        /// Waiting for a commit (or an admin operation).
        case waiting
        case ready(ArraySlice<UInt8>)
        /// A read waiting for the turn's ReadIndex, with the protocol the client spoke then.
        case read([[UInt8]], proto: Int)
        /// A read whose ReadIndex is confirmed: it runs against the state machine when every
        /// slot before it is ready, so it sees the writes this connection sent before it.
        case confirmed([[UInt8]], proto: Int)
    }

    /// Replies in request order: `slots[head...]` are slot numbers `flushed...`; the ones
    /// before `head` are written (emptied, and dropped in one go when all are written).
    private var slots: [Slot] = []
    private var head = 0
    /// Replies already written (slot numbers keep counting across flushes).
    private var flushed = 0
    private var closeAfterFlush = false
    /// Already on the server's list of sessions to flush this turn.
    var flushPending = false
    /// The bytes of one flush, kept between flushes for their capacity.
    private var out: [UInt8] = []
    /// Reads not yet run (slots `.read` or `.confirmed`). While there are any, only more reads
    /// start: a write (or any other command) sent after a read waits in the parser until the
    /// read has run, so the read never sees it — each connection's commands take effect in its
    /// order.
    private var readsWaiting = 0
    /// A request waits in the parser for the connection's reads to run.
    private var blocked = false

    init(stream: ClientStream, server: KVServer) {
        self.stream = stream
        self.server = server
        client = server.connected(address: stream.peerAddress)
        parser = RESPParser(maxBulkLength: server.maxRequestBytes, maxArguments: 1 << 16)
        stream.onData = { [weak self] bytes in self?.received(bytes) }
        stream.onClose = { [weak self] in
            guard let self else { return }
            self.server.disconnected(self.client)
        }
    }

    private func received(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !closeAfterFlush else { return }
        parser.feed(bytes)
        run()
    }

    /// Executes the requests received so far, in place in the parser's buffer, until one must
    /// wait for earlier reads.
    private func run() {
        blocked = false
        while !closeAfterFlush {
            let step: RESPParser.Step
            do {
                step = try parser.withNext { args in
                    if args.count == 0 { return true }
                    return server.execute(args, from: self, readsWaiting: readsWaiting > 0)
                }
            } catch {
                // The stream cannot be resynchronised: answer, then close (as Redis does).
                closeAfterFlush = true
                reply(RESPValue.error("ERR \(error)").encoded)
                return
            }
            if step == .needMore { break }
            if step == .declined {
                blocked = true
                return
            }
            if client.closeAfterReply { closeAfterFlush = true }
        }
        if parser.pending > server.maxRequestBytes + 1024 {
            closeAfterFlush = true
            reply(RESPValue.error("ERR Protocol error: request too large").encoded)
        }
    }

    // MARK: Slots (the server's side)

    /// A slot for a reply that comes later (`fill`); returns its number.
    func reserve() -> Int {
        slots.append(.waiting)
        return slots.count - 1 - head + flushed
    }

    /// A reply known now, after every earlier one.
    func reply(_ bytes: [UInt8]) {
        slots.append(.ready(bytes[...]))
        server.needsFlush(self)
    }

    /// A read to run once the turn's ReadIndex confirms it (`confirm`); returns its slot.
    func reserveRead(_ args: [[UInt8]]) -> Int {
        slots.append(.read(args, proto: client.proto))
        readsWaiting += 1
        return slots.count - 1 - head + flushed
    }

    func fill(_ slot: Int, _ reply: ArraySlice<UInt8>) {
        let i = slot - flushed + head
        guard i >= head, i < slots.count else { return }
        switch slots[i] {
        case .read, .confirmed: readsWaiting -= 1
        case .waiting, .ready: break
        }
        slots[i] = .ready(reply)
        server.needsFlush(self)
    }

    func confirm(_ slot: Int) {
        let i = slot - flushed + head
        guard i >= head, i < slots.count, case .read(let args, let proto) = slots[i] else { return }
        slots[i] = .confirmed(args, proto: proto)
        server.needsFlush(self)
    }

    /// The key of the read in `slot` (for MOVED), if any.
    func readKey(_ slot: Int) -> [UInt8]? {
        let i = slot - flushed + head
        guard i >= head, i < slots.count, case .read(let args, _) = slots[i], args.count > 1 else { return nil }
        return args[1]
    }

    /// Writes every reply that is ready in order, in one write (loop thread, end of a turn);
    /// confirmed reads run here, in their turn.
    func flush() {
        flushPending = false
        var n = head
        out.removeAll(keepingCapacity: true)
        loop: while n < slots.count {
            switch slots[n] {
            case .ready(let r):
                out.append(contentsOf: r)
            case .confirmed(let args, let proto):
                server.runRead(args, proto: proto, into: &out)
                readsWaiting -= 1
            case .waiting, .read:
                break loop
            }
            // Emptied here, one at a time: removing a run of slots through removeFirst(n)
            // cost several hundred instructions per slot.
            slots[n] = .waiting
            n += 1
        }
        if n > head {
            stream.write(out)
            flushed += n - head
            head = n
            if head == slots.count {
                slots.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 4096 {
                slots.removeFirst(head)
                head = 0
            }
        }
        // A large buffer from one big reply is not worth keeping.
        if out.capacity > 1 << 20 { out = [] }
        if closeAfterFlush && head == slots.count { stream.closeAfterWrites() }
        // The reads a request waited for have run: go on with it and what followed.
        if blocked && readsWaiting == 0 && !closeAfterFlush { run() }
    }
}
