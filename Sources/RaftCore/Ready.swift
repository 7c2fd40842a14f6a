/// What the driver must do after feeding inputs to a node (etcd's `Ready`).
/// Order: send `messages`; if `needsSync`, `log.sync()` then `node.didSync()`; then send
/// `messagesAfterSync` (votes and append acknowledgements reveal state that must be durable).
public struct Ready: Sendable {
    public var messages: [Message] = []
    public var messagesAfterSync: [Message] = []
    public var completions: [Completion] = []
    public var events: [RaftEvent] = []
    public var needsSync = false

    public init() {}
    public var isEmpty: Bool {
        messages.isEmpty && messagesAfterSync.isEmpty && completions.isEmpty && events.isEmpty && !needsSync
    }
}
