#if canImport(Glibc)
import Glibc
#endif
import CLibCrypto
import RaftCore

/// The shared secret of a cluster whose peers must prove they belong (see docs/security.md).
/// `current` is what this node proves with; `alsoAccepted` are further secrets it accepts from
/// peers while a secret is being rotated.
public struct ClusterSecrets: Sendable, Equatable {
    public let current: [UInt8]
    public let alsoAccepted: [[UInt8]]
    /// 16 bytes: a shorter secret could be guessed offline from one recorded handshake.
    public static let minimumLength = 16
    public static let maximumLength = 4096

    public init(current: [UInt8], alsoAccepted: [[UInt8]] = []) throws(SecretError) {
        for s in [current] + alsoAccepted {
            guard s.count >= Self.minimumLength else { throw .tooShort(s.count) }
            guard s.count <= Self.maximumLength else { throw .tooLong(s.count) }
        }
        self.current = current
        self.alsoAccepted = alsoAccepted
    }

    var all: [[UInt8]] { [current] + alsoAccepted }
}

public enum SecretError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooShort(Int)
    case tooLong(Int)
    case unreadable(path: String, errno: Int32)
    /// Readable by group or others: refused, as ssh refuses such a private key.
    case tooOpen(path: String, mode: UInt32)
    case empty(path: String)

    public var description: String {
        switch self {
        case .tooShort(let n): return "a cluster secret needs at least \(ClusterSecrets.minimumLength) bytes, got \(n)"
        case .tooLong(let n): return "a cluster secret may have at most \(ClusterSecrets.maximumLength) bytes, got \(n)"
        case .unreadable(let p, let e): return "cannot read the cluster secret file \(p): \(String(cString: strerror(e)))"
        case .tooOpen(let p, let mode):
            return "the cluster secret file \(p) is readable by others (mode \(String(mode & 0o777, radix: 8))); chmod 600 it"
        case .empty(let p): return "the cluster secret file \(p) holds no secret"
        }
    }
}

/// Mutual challenge-response over fresh nonces: each side proves it knows the secret with an
/// HMAC-SHA256 over both nonces, the cluster id and both node ids. The secret never crosses the
/// wire; a recorded handshake is useless against the other side's next fresh nonce.
enum PeerAuth {
    static let nonceSize = 32
    static let label = "raftengine peer auth v1"

    enum Role: String {
        case client
        case server
    }

    /// Fresh random bytes from OpenSSL's CSPRNG.
    static func nonce() -> [UInt8] {
        var n = [UInt8](repeating: 0, count: nonceSize)
        let ok = n.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(nonceSize)) }
        // Without randomness the handshake would be replayable: never go on without it.
        precondition(ok == 1, "RAND_bytes failed: no source of randomness")
        return n
    }

    /// The proof `role` sends: HMAC-SHA256(secret, transcript).
    static func proof(_ role: Role, secret: [UInt8], clusterID: String, clientID: NodeID, serverID: NodeID,
                      clientNonce: [UInt8], serverNonce: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.string(label)
        w.string(role.rawValue)
        w.string(clusterID)
        w.string(clientID)
        w.string(serverID)
        w.blob(clientNonce)
        w.blob(serverNonce)
        let transcript = w.bytes
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLen: UInt32 = 0
        let done = secret.withUnsafeBufferPointer { key in
            transcript.withUnsafeBufferPointer { data in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), data.baseAddress, data.count, o.baseAddress, &outLen)
                }
            }
        }
        precondition(done != nil && outLen == 32, "HMAC-SHA256 failed")
        return Array(out.prefix(Int(outLen)))
    }

    /// True when `proof` is `role`'s proof under one of `secrets` (compared in constant time).
    static func verify(_ proof: [UInt8], _ role: Role, secrets: ClusterSecrets, clusterID: String, clientID: NodeID,
                       serverID: NodeID, clientNonce: [UInt8], serverNonce: [UInt8]) -> Bool {
        guard proof.count == 32 else { return false }
        var ok = false
        for s in secrets.all {
            let want = self.proof(role, secret: s, clusterID: clusterID, clientID: clientID, serverID: serverID,
                                  clientNonce: clientNonce, serverNonce: serverNonce)
            let same = want.withUnsafeBufferPointer { a in proof.withUnsafeBufferPointer { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, 32) } }
            if same == 0 { ok = true }
        }
        return ok
    }
}

/// The frames of the authenticated handshake (version 2 of the handshake; version 1, the
/// unauthenticated hello, is `Handshake`).
enum AuthFrame: Equatable {
    /// Client → server: who is calling, and its fresh nonce.
    case hello(clusterID: String, nodeID: NodeID, address: String, nonce: [UInt8])
    /// Server → client: who answers, its fresh nonce and its proof.
    case challenge(nodeID: NodeID, nonce: [UInt8], proof: [UInt8])
    /// Client → server: the client's proof.
    case proof([UInt8])

    static let version: UInt8 = 2

    var encoded: [UInt8] {
        var w = ByteWriter()
        w.u32(Handshake.magic)
        w.u8(Self.version)
        switch self {
        case .hello(let c, let n, let a, let nonce):
            w.u8(1); w.string(c); w.string(n); w.string(a); w.blob(nonce)
        case .challenge(let n, let nonce, let proof):
            w.u8(2); w.string(n); w.blob(nonce); w.blob(proof)
        case .proof(let p):
            w.u8(3); w.blob(p)
        }
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        guard try r.u32() == Handshake.magic else { throw .invalidValue("not a RaftEngine handshake") }
        let v = try r.u8()
        guard v == Self.version else { throw .unknownVersion(v) }
        let kind = try r.u8()
        switch kind {
        case 1: self = .hello(clusterID: try r.string(), nodeID: try r.string(), address: try r.string(), nonce: try r.blob())
        case 2: self = .challenge(nodeID: try r.string(), nonce: try r.blob(), proof: try r.blob())
        case 3: self = .proof(try r.blob())
        default: throw .unknownEnumValue("handshake frame", kind)
        }
        try r.expectEnd()
    }

    /// The handshake version a first frame claims (1: unauthenticated, 2: authenticated).
    static func version(of frame: [UInt8]) -> UInt8? {
        guard frame.count >= 5 else { return nil }
        var r = ByteReader(frame)
        guard (try? r.u32()) == Handshake.magic else { return nil }
        return try? r.u8()
    }
}
