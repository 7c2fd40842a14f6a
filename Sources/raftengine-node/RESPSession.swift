import RaftCore
import RaftKV
import RaftUV

/// One Redis-protocol client connection. Requests may be pipelined: each gets a reply slot in
/// arrival order, and replies leave in that order however their commits interleave.
final class RESPSession {
    private let stream: ClientStream
    private let server: KVServer
    private var parser: RESPParser
    private var slots: [[UInt8]?] = []
    private var closeAfterFlush = false

    init(stream: ClientStream, server: KVServer) {
        self.stream = stream
        self.server = server
        parser = RESPParser(maxBulkLength: server.maxRequestBytes, maxArguments: 1 << 16)
        stream.onData = { [weak self] bytes in self?.received(bytes) }
    }

    private func received(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !closeAfterFlush else { return }
        parser.feed(bytes)
        while true {
            let request: [[UInt8]]?
            do { request = try parser.next() } catch {
                // The stream cannot be resynchronised: answer, then close (as Redis does).
                let slot = reserve()
                fill(slot, RESPValue.error("ERR \(error)").encoded)
                closeAfterFlush = true
                flush()
                return
            }
            guard let args = request else { break }
            if args.isEmpty { continue }
            let slot = reserve()
            server.execute(args) { [weak self] reply in self?.fill(slot, reply) }
        }
        if parser.pending > server.maxRequestBytes + 1024 {
            let slot = reserve()
            fill(slot, RESPValue.error("ERR Protocol error: request too large").encoded)
            closeAfterFlush = true
            flush()
        }
    }

    private func reserve() -> Int {
        slots.append(nil)
        return slots.count - 1 + flushed
    }

    /// Replies already written (slot numbers keep counting across flushes).
    private var flushed = 0

    private func fill(_ slot: Int, _ reply: [UInt8]) {
        let i = slot - flushed
        guard i >= 0, i < slots.count else { return }
        slots[i] = reply
        flush()
    }

    private func flush() {
        var out: [UInt8] = []
        var n = 0
        while n < slots.count, let r = slots[n] {
            out.append(contentsOf: r)
            n += 1
        }
        if n > 0 {
            slots.removeFirst(n)
            flushed += n
            stream.write(out)
        }
        if closeAfterFlush && slots.isEmpty { stream.close() }
    }
}
