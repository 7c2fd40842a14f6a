/// Incremental RESP request parser. Accepts both multibulk requests (`*2\r\n$3\r\nGET\r\n...`,
/// what client libraries send) and inline commands (`PING\r\n`, what a person types over
/// telnet). Bytes may arrive in any split; `next()` returns a request once it is complete.
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

    private var buffer: [UInt8] = []
    private var start = 0
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
        guard start < buffer.count else { return nil }
        if buffer[start] == UInt8(ascii: "*") {
            return try nextMultibulk()
        }
        return try nextInline()
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

    private mutating func nextInline() throws(ParseError) -> [[UInt8]]? {
        guard let end = findCRLF(from: start) ?? (buffer[start...].firstIndex(of: 10)) else {
            if pending > maxBulkLength { throw .tooLarge(pending) }
            return nil
        }
        let line = buffer[start..<end]
        start = end + (end < buffer.count && buffer[end] == 13 ? 2 : 1)
        let args = line.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }).map { Array($0) }
        return args
    }

    private mutating func nextMultibulk() throws(ParseError) -> [[UInt8]]? {
        var i = start
        guard let lineEnd = findCRLF(from: i) else {
            if pending > 64 { throw .protocolError("invalid multibulk length") }
            return nil
        }
        guard let count = parseInt(i + 1, lineEnd), count <= maxArguments else {
            throw .protocolError("invalid multibulk length")
        }
        i = lineEnd + 2
        if count <= 0 {
            start = i
            return []
        }
        var args: [[UInt8]] = []
        args.reserveCapacity(count)
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
            args.append(Array(buffer[dataStart..<(dataStart + len)]))
            i = dataStart + len + 2
        }
        start = i
        return args
    }
}
