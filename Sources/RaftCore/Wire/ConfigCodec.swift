/// Binary form of `ClusterConfig`, the payload of config entries, snapshot metadata and the
/// storage metadata file. Versioned so later fields can be added.
extension ClusterSettings {
    /// Version 2 replaced version 1's commands-idempotent flag with the apply policy; version 3
    /// appends `maxInflightBytes`.
    static let encodingVersion: UInt8 = 3

    public func encode(into w: inout ByteWriter) {
        // Settings at version 2's values are written as version 2, byte for byte as before, so
        // a node of the previous release still reads every config entry until someone sets a
        // newer field.
        let version: UInt8 = maxInflightBytes == Self.defaultMaxInflightBytes ? 2 : Self.encodingVersion
        w.u8(version)
        w.varint(heartbeatPeriod)
        w.varint(electionTimeoutMin)
        w.varint(electionTimeoutMax)
        w.varint(UInt64(maxEntriesPerMessage))
        w.varint(UInt64(maxInflight))
        w.bool(preVote)
        w.bool(checkQuorum)
        w.u8(applyPolicy.rawValue)
        if version >= 3 { w.varint(maxInflightBytes) }
    }

    public init(from r: inout ByteReader) throws(WireError) {
        let version = try r.u8()
        guard (1...Self.encodingVersion).contains(version) else { throw .unknownVersion(version) }
        self.init()
        heartbeatPeriod = try r.varint()
        electionTimeoutMin = try r.varint()
        electionTimeoutMax = try r.varint()
        let maxEntries = try r.varint()
        let inflight = try r.varint()
        guard maxEntries <= UInt64(UInt32.max), inflight <= UInt64(UInt32.max) else {
            throw .invalidValue("setting out of range")
        }
        maxEntriesPerMessage = UInt32(maxEntries)
        maxInflight = UInt32(inflight)
        preVote = try r.bool()
        checkQuorum = try r.bool()
        if version == 1 {
            // Version 1's two policies, as they were: idempotent commands retried, others halted.
            applyPolicy = try r.bool() ? .retry : .halt
        } else {
            let raw = try r.u8()
            guard let p = ApplyPolicy(rawValue: raw) else { throw .unknownEnumValue("apply policy", raw) }
            applyPolicy = p
        }
        if version >= 3 {
            maxInflightBytes = try r.varint()
        }
    }
}

extension Member {
    public func encode(into w: inout ByteWriter) {
        w.string(id)
        w.string(address)
        w.bool(isVoter)
    }

    public init(from r: inout ByteReader) throws(WireError) {
        let id = try r.string()
        let address = try r.string()
        let voter = try r.bool()
        self.init(id: id, address: address, isVoter: voter)
    }
}

extension ClusterConfig {
    public func encode(into w: inout ByteWriter) {
        settings.encode(into: &w)
        w.varint(UInt64(members.count))
        for m in members { m.encode(into: &w) }
    }

    public init(from r: inout ByteReader) throws(WireError) {
        let settings = try ClusterSettings(from: &r)
        let n = try r.count(minItemSize: 3)
        var members: [Member] = []
        members.reserveCapacity(n)
        for _ in 0..<n { members.append(try Member(from: &r)) }
        self.init(members: members, settings: settings)
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        try self.init(from: &r)
        try r.expectEnd()
    }
}

extension SnapshotMeta {
    public func encode(into w: inout ByteWriter) {
        w.varint(index)
        w.varint(term)
        config.encode(into: &w)
    }

    public init(from r: inout ByteReader) throws(WireError) {
        let index = try r.varint()
        let term = try r.varint()
        let config = try ClusterConfig(from: &r)
        self.init(index: index, term: term, config: config)
    }
}

extension Entry {
    public func encode(into w: inout ByteWriter) {
        w.varint(index)
        w.varint(term)
        w.u8(kind.rawValue)
        w.blob(data)
    }

    public init(from r: inout ByteReader) throws(WireError) {
        let index = try r.varint()
        let term = try r.varint()
        let rawKind = try r.u8()
        guard let kind = EntryKind(rawValue: rawKind) else { throw .unknownEnumValue("entry kind", rawKind) }
        let data = try r.blob()
        self.init(index: index, term: term, kind: kind, data: data)
    }
}
