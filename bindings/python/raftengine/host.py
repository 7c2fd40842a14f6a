"""A libuv loop thread that carries nodes."""

import ctypes
import threading

from . import _lib
from ._calls import _check, lib

# ctypes gives a callback on a thread Python did not start a fresh Python thread state and
# destroys it afterwards: an mmap, a munmap and a TLB flush on every core, per callback. Each
# host keeps one thread state on its loop thread instead (a nested PyGILState_Ensure taken
# there at start and released there at close), so the node's callbacks only take the GIL.
_gil_ensure = ctypes.pythonapi.PyGILState_Ensure
_gil_ensure.restype = ctypes.c_int
_gil_ensure.argtypes = []
_gil_release = ctypes.pythonapi.PyGILState_Release
_gil_release.restype = None
_gil_release.argtypes = [ctypes.c_int]

_pins = {}  # host handle -> the PyGILState taken on its loop thread
_pins_lock = threading.Lock()


def _pin(user):
    state = _gil_ensure()
    with _pins_lock:
        _pins[user or 0] = state


def _unpin(user):
    with _pins_lock:
        state = _pins.pop(user or 0, None)
    if state is not None:
        _gil_release(state)


_PIN = _lib.HOST_FN(_pin)
_UNPIN = _lib.HOST_FN(_unpin)


class Host:
    """One libuv loop thread that can carry several nodes."""

    def __init__(self):
        h = ctypes.c_void_p()
        _check(lib().re_host_new(ctypes.byref(h)), "re_host_new")
        self._handle = h
        self._closed = False
        lib().re_host_run(h, _PIN, h)

    def close(self):
        """Stops every node of the host and its loop thread."""
        if not self._closed:
            self._closed = True
            lib().re_host_run(self._handle, _UNPIN, self._handle)
            lib().re_host_free(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
