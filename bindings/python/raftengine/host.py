"""A libuv loop thread that carries nodes."""

import ctypes

from ._calls import _check, lib


class Host:
    """One libuv loop thread that can carry several nodes."""

    def __init__(self):
        h = ctypes.c_void_p()
        _check(lib().re_host_new(ctypes.byref(h)), "re_host_new")
        self._handle = h
        self._closed = False

    def close(self):
        """Stops every node of the host and its loop thread."""
        if not self._closed:
            self._closed = True
            lib().re_host_free(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
