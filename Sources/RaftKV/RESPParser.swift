/// Incremental RESP request parser. Accepts both multibulk requests (`*2\r\n$3\r\nGET\r\n...`,
/// what client libraries send) and inline commands (`PING\r\n`, what a person types over
/// telnet). Bytes may arrive in any split; a request is handed out once it is complete, either
/// copied (`next()`) or in place (`withNext`, no allocation: the server's request path).
public struct RESPParser {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case protocolError(String)
        case tooLarge(Int)
        public var description: String {
            switch self {
            case .protocolError(let why): return "Protocol error: \(why)"
            case .tooLarge(let n): return "Protocol error: request of \(n) bytes is too large"
            }
        }
    }

    /// What `withNext` did.
    public enum Step: Equatable {
        /// No complete request yet.
        case needMore
        /// The request was handed to the body, which took it; the parser moved past it.
        case consumed
        /// The body declined it (it stays next, to be handed out again).
        case declined
    }

    private var buffer: [UInt8] = []
    private var start = 0
    /// The request being handed out: (offset, length) pairs into `buffer`, reused.
    private var spans: [Int] = []
    /// Largest single argument and largest request accepted.
    public let maxBulkLength: Int
    public let maxArguments: Int

    public init(maxBulkLength: Int = 1 << 20, maxArguments: Int = 1 << 16) {
        self.maxBulkLength = maxBulkLength
        self.maxArguments = maxArguments
    }

    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet parsed.
    public var pending: Int { buffer.count - start }

    /// The next complete request's arguments, nil when more bytes are needed. A thrown error
    /// means the stream cannot be resynchronised: reply with it and close the connection.
    public mutating func next() throws(ParseError) -> [[UInt8]]? {
        var out: [[UInt8]]?
        _ = try withNext { args in
            out = args.arrays
            return true
        }
        return out
    }

    /// Hands the next complete request to `body` in place (valid only during the call); the
    /// parser moves past it if `body` returns true. Errors as for `next()`.
    public mutating func withNext(_ body: (RESPArgs) -> Bool) throws(ParseError) -> Step {
        guard start < buffer.count else { return .needMore }
        spans.removeAll(keepingCapacity: true)
        let end: Int?
        if buffer[start] == UInt8(ascii: "*") {
            end = try scanMultibulk()
        } else {
            end = try scanInline()
        }
        guard let end else { return .needMore }
        let taken = buffer.withUnsafeBufferPointer { b in
            spans.withUnsafeBufferPointer { s in body(RESPArgs(buffer: b, spans: s)) }
        }
        guard taken else { return .declined }
        start = end
        return .consumed
    }

    private func findCRLF(from i: Int) -> Int? {
        var j = i
        while j + 1 < buffer.count {
            if buffer[j] == 13 && buffer[j + 1] == 10 { return j }
            j += 1
        }
        return nil
    }

    private func parseInt(_ from: Int, _ to: Int) -> Int? {
        guard to > from, to - from <= 18 else { return nil }
        var n = 0
        var neg = false
        var i = from
        if buffer[i] == UInt8(ascii: "-") { neg = true; i += 1 }
        guard i < to else { return nil }
        while i < to {
            let d = Int(buffer[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            n = n * 10 + d
            i += 1
        }
        return neg ? -n : n
    }

    /// Fills `spans` with an inline request's words; returns where the request ends.
    private mutating func scanInline() throws(ParseError) -> Int? {
        guard let end = findCRLF(from: start) ?? (buffer[start...].firstIndex(of: 10)) else {
            if pending > maxBulkLength { throw .tooLarge(pending) }
            return nil
        }
        var i = start
        while i < end {
            let c = buffer[i]
            if c == 32 || c == 9 || c == 10 || c == 13 {
                i += 1
                continue
            }
            let w = i
            while i < end, buffer[i] != 32, buffer[i] != 9, buffer[i] != 10, buffer[i] != 13 { i += 1 }
            spans.append(w)
            spans.append(i - w)
        }
        return end + (end < buffer.count && buffer[end] == 13 ? 2 : 1)
    }

    /// Fills `spans` with a multibulk request's arguments; returns where the request ends.
    private mutating func scanMultibulk() throws(ParseError) -> Int? {
        var i = start
        guard let lineEnd = findCRLF(from: i) else {
            if pending > 64 { throw .protocolError("invalid multibulk length") }
            return nil
        }
        guard let count = parseInt(i + 1, lineEnd), count <= maxArguments else {
            throw .protocolError("invalid multibulk length")
        }
        i = lineEnd + 2
        if count <= 0 { return i }
        spans.reserveCapacity(2 * count)
        for _ in 0..<count {
            guard i < buffer.count else { return nil }
            guard buffer[i] == UInt8(ascii: "$") else {
                throw .protocolError("expected '$', got '\(Character(UnicodeScalar(buffer[i])))'")
            }
            guard let lenEnd = findCRLF(from: i) else {
                if buffer.count - i > 64 { throw .protocolError("invalid bulk length") }
                return nil
            }
            guard let len = parseInt(i + 1, lenEnd), len >= 0 else { throw .protocolError("invalid bulk length") }
            guard len <= maxBulkLength else { throw .tooLarge(len) }
            let dataStart = lenEnd + 2
            guard dataStart + len + 2 <= buffer.count else { return nil }
            guard buffer[dataStart + len] == 13, buffer[dataStart + len + 1] == 10 else {
                throw .protocolError("bulk string not terminated by CRLF")
            }
            spans.append(dataStart)
            spans.append(len)
            i = dataStart + len + 2
        }
        return i
    }
}

/// One request's arguments in the parser's buffer, valid only inside `RESPParser.withNext`.
public struct RESPArgs {
    let buffer: UnsafeBufferPointer<UInt8>
    let spans: UnsafeBufferPointer<Int>

    public var count: Int { spans.count / 2 }

    /// Argument i's bytes in place.
    @inline(__always)
    public subscript(i: Int) -> UnsafeBufferPointer<UInt8> {
        let from = spans[2 * i]
        return UnsafeBufferPointer(rebasing: buffer[from..<(from + spans[2 * i + 1])])
    }

    /// Argument i copied.
    public func array(_ i: Int) -> [UInt8] { Array(self[i]) }

    /// Every argument copied.
    public var arrays: [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(array(i)) }
        return out
    }
}
