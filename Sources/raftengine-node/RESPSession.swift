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
    /// Replies in request order; nil while a request waits for its commit or read.
    private var slots: [[UInt8]?] = []
    /// Replies already written (slot numbers keep counting across flushes).
    private var flushed = 0
    private var closeAfterFlush = false
    /// Already on the server's list of sessions to flush this turn.
    var flushPending = false

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
        while !closeAfterFlush {
            let request: [[UInt8]]?
            do { request = try parser.next() } catch {
                // The stream cannot be resynchronised: answer, then close (as Redis does).
                closeAfterFlush = true
                fill(reserve(), RESPValue.error("ERR \(error)").encoded)
                return
            }
            guard let args = request else { break }
            if args.isEmpty { continue }
            let slot = reserve()
            server.execute(args, session: client) { [weak self] reply in self?.fill(slot, reply) }
            if client.closeAfterReply { closeAfterFlush = true }
        }
        if parser.pending > server.maxRequestBytes + 1024 {
            closeAfterFlush = true
            fill(reserve(), RESPValue.error("ERR Protocol error: request too large").encoded)
        }
    }

    private func reserve() -> Int {
        slots.append(nil)
        return slots.count - 1 + flushed
    }

    private func fill(_ slot: Int, _ reply: [UInt8]) {
        let i = slot - flushed
        guard i >= 0, i < slots.count else { return }
        slots[i] = reply
        server.needsFlush(self)
    }

    /// Writes every reply that is ready in order, in one write (loop thread, end of a turn).
    func flush() {
        flushPending = false
        var n = 0
        var size = 0
        while n < slots.count, let r = slots[n] {
            size += r.count
            n += 1
        }
        if n == 1 {
            stream.write(slots[0]!)
        } else if n > 1 {
            var out: [UInt8] = []
            out.reserveCapacity(size)
            for k in 0..<n { out.append(contentsOf: slots[k]!) }
            stream.write(out)
        }
        if n > 0 {
            slots.removeFirst(n)
            flushed += n
        }
        if closeAfterFlush && slots.isEmpty { stream.closeAfterWrites() }
    }
}
