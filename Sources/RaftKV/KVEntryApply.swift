import RaftCore

/// Applying client writes without building a `KVCommand`: an `.exec` or `.transaction` entry
/// (what raftengine-node proposes for every client write, a turn's writes in one
/// `.transaction`) is checked in one pass over its bytes and executed in a second, each
/// command's argv decoded into one reused array with the command name shared from the table.
/// The result is byte for byte what `KVCommand(decoding:)` and `execute` give.
extension KVStateMachine {
    /// The entry's reply, or nil when it is not a format-1 `.exec` / `.transaction` that
    /// decodes (the caller then takes the general path, which also reports a bad entry).
    func applyInPlace(_ bytes: [UInt8]) -> [UInt8]? {
        bytes.withUnsafeBufferPointer { b -> [UInt8]? in
            var r = KVEntryReader(b)
            guard r.u8() == KVCommand.format, let kind = r.u8(), kind == 1 || kind == 2, let t = r.varint() else {
                return nil
            }
            let body = r.offset
            // Nothing executes unless the whole entry decodes, as with KVCommand(decoding:).
            var n = 1
            if kind == 2 {
                guard let c = r.count() else { return nil }
                n = c
            }
            for _ in 0..<n { guard r.skipArgs() else { return nil } }
            guard r.offset == b.count else { return nil }

            let now = Swift.max(t, store.time)
            store.time = now
            appliedCommands &+= UInt64(n)
            r.offset = body
            if kind == 2 { _ = r.count() }
            var args: [[UInt8]] = []
            if kind == 1 {
                let spec = r.readArgs(into: &args)
                return Self.encode(execute(spec, args, now, allowWrites: true))
            }
            var out: [UInt8] = []
            out.reserveCapacity(16 + n * 8)
            out.append(UInt8(ascii: "*"))
            out.append(contentsOf: String(n).utf8)
            out.append(contentsOf: [13, 10])
            for _ in 0..<n {
                // Element by element: removeAll(keepingCapacity:) costs a few hundred instructions.
                while !args.isEmpty { args.removeLast() }
                let spec = r.readArgs(into: &args)
                execute(spec, args, now, allowWrites: true).encode(into: &out)
            }
            return out
        }
    }
}

/// ByteReader's rules (LEB128 varints, counts bounded by the bytes left, blobs by their
/// length) over a buffer, returning nil instead of throwing.
struct KVEntryReader {
    let b: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    @inline(__always)
    mutating func u8() -> UInt8? {
        guard offset < b.count else { return nil }
        defer { offset += 1 }
        return b[offset]
    }

    @inline(__always)
    mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let x = u8() else { return nil }
            if shift == 63 && x > 1 { return nil }
            result |= UInt64(x & 0x7f) << shift
            if x & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { return nil }
        }
    }

    /// ByteReader.count(minItemSize: 1).
    @inline(__always)
    mutating func count() -> Int? {
        guard let n = varint(), n <= UInt64(b.count - offset) else { return nil }
        return Int(n)
    }

    /// One argv: checks it and moves past it.
    mutating func skipArgs() -> Bool {
        guard let argc = count() else { return false }
        for _ in 0..<argc {
            guard let len = varint(), len <= UInt64(b.count - offset) else { return false }
            offset += Int(len)
        }
        return true
    }

    /// One argv (already checked by `skipArgs`) into `args`; returns the command's table
    /// position (nil: unknown name), its name taken from the table when known.
    mutating func readArgs(into args: inout [[UInt8]]) -> Int? {
        let argc = count()!
        args.reserveCapacity(argc)
        var spec: Int? = nil
        for i in 0..<argc {
            let len = Int(varint()!)
            let piece = UnsafeBufferPointer(rebasing: b[offset..<(offset + len)])
            offset += len
            if i == 0, let s = KVCommandTable.specIndex(piece) {
                spec = s
                args.append(KVCommandTable.nameBytes[s])
            } else {
                args.append(Array(piece))
            }
        }
        return spec
    }
}
