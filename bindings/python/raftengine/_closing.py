"""The handle classes' shared ending: `close()` in a `with` block and at garbage collection."""


class Closing:
    """A handle freed by its `close()` (each subclass's own, safe to call twice): usable as a
    context manager, and closed when collected (errors then are swallowed: the interpreter may
    be shutting down)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
