/// What the server knows of one client connection: who it is (CLIENT SETNAME / SETINFO),
/// which protocol it speaks (HELLO), whether it authenticated (AUTH), and a MULTI in progress.
final class ClientSession {
    let id: Int64
    let address: String
    let connectedAt: UInt64
    var name = ""
    var libName = ""
    var libVersion = ""
    /// 2 (RESP2) unless the client said HELLO 3.
    var proto = 2
    var authenticated: Bool
    /// Commands queued since MULTI; nil outside a transaction.
    var queued: [[[UInt8]]]?
    /// A command inside MULTI was refused: EXEC answers EXECABORT.
    var multiFailed = false
    /// READONLY was asked (reads still go to the leader: they stay linearizable).
    var readOnly = false
    /// The name of the last command as sent (kept as bytes: no String per request).
    var lastCommandName: [UInt8] = []
    var lastCommand: String { String(decoding: lastCommandName.prefix(32), as: UTF8.self).lowercased() }
    /// QUIT: the connection closes once this reply is written.
    var closeAfterReply = false

    init(id: Int64, address: String, authenticated: Bool, now: UInt64) {
        self.id = id
        self.address = address
        self.authenticated = authenticated
        connectedAt = now
    }
}
