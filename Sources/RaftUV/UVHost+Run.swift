extension UVHost {
    /// Runs `body` on the loop thread and waits for it (at once when called there). False when
    /// the host is stopped. For hosts that must set something up on the thread their callbacks
    /// come from (an interpreter's thread state).
    @discardableResult
    public func runOnLoop(_ body: @escaping () -> Void) -> Bool {
        loop.sync(body) != nil
    }
}
