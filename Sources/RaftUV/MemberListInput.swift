import RaftCore

/// Why a node id, a peer or an address given by a host cannot make a working cluster. The one
/// source of these checks and their words: raftengine-node's flags, the C ABI (through
/// `re_config_errmsg`) and Python all refuse the same inputs with the same sentence.
public enum MemberListError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyID(what: String)
    /// A peer carries the node's own id: the membership would list it twice and it would elect
    /// itself alone.
    case peerIsSelf(NodeID)
    case duplicatePeer(NodeID)
    case unparsableAddress(String)
    /// The port is not a number in 1–65535 (0 only where a listener may pick a free port).
    case portOutOfRange(String)
    /// A node that joins takes its membership from the cluster, not from a peer list.
    case joinWithPeers

    public var description: String {
        switch self {
        case .emptyID(let what): return "\(what) must not be empty"
        case .peerIsSelf(let id): return "peer \(id) has this node's own id"
        case .duplicatePeer(let id): return "peer \(id) is given twice"
        case .unparsableAddress(let a):
            return "address \"\(a)\" is not HOST:PORT (HOST an IPv4 literal, [IPv6] or localhost)"
        case .portOutOfRange(let a): return "the port of \"\(a)\" is outside 1-65535"
        case .joinWithPeers: return "a node that joins a cluster learns its members from it: give peers or join, not both"
        }
    }
}

extension HostPort {
    /// Parses `text`, telling an unusable port from an unparsable address. `allowPortZero` is for
    /// listen addresses (port 0 picks a free port); peers need a real port.
    public static func parse(_ text: String, allowPortZero: Bool = false) throws(MemberListError) -> HostPort {
        if let hp = HostPort(text) {
            guard hp.port != 0 || allowPortZero else { throw .portOutOfRange(text) }
            return hp
        }
        // Well formed but for the number: name the port, not the whole address.
        if let colon = text.lastIndex(of: ":"), text.index(after: colon) < text.endIndex {
            let port = text[text.index(after: colon)...]
            let digits = port.hasPrefix("-") ? port.dropFirst() : port[...]
            let host = String(text[..<colon])
            if !digits.isEmpty, digits.allSatisfy(\.isNumber), HostPort(host + ":1") != nil {
                throw .portOutOfRange(text)
            }
        }
        throw .unparsableAddress(text)
    }
}

/// A node's peer list as a host builds it, one peer at a time, refusing what cannot work.
public struct PeerList: Sendable {
    public private(set) var peers: [(id: NodeID, address: HostPort)] = []

    public init() {}

    /// Adds a peer. `selfID` is the node's own id when already known.
    public mutating func add(id: NodeID, address: String, selfID: NodeID?) throws(MemberListError) {
        guard !id.isEmpty else { throw .emptyID(what: "peer id") }
        let hp = try HostPort.parse(address)
        if id == selfID { throw .peerIsSelf(id) }
        if peers.contains(where: { $0.id == id }) { throw .duplicatePeer(id) }
        peers.append((id, hp))
    }

    /// Checks the node's own id against the peers given so far.
    public func checkSelf(_ selfID: NodeID) throws(MemberListError) {
        guard !selfID.isEmpty else { throw .emptyID(what: "node id") }
        if peers.contains(where: { $0.id == selfID }) { throw .peerIsSelf(selfID) }
    }
}
