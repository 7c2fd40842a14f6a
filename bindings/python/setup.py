"""Builds libraftengine.so with the Swift toolchain and puts it inside the package, so
`pip install bindings/python` gives a package that works with no environment variable and
`pip wheel bindings/python` a platform wheel (py3-none-linux_x86_64: ctypes, no Python ABI).

Environment:
  SWIFT=/path/to/swift                  the toolchain's swift (default: `swift` on PATH)
  RAFTENGINE_PREBUILT_LIBRARY=path.so   package this library instead of building one
"""
import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - wheel is a build requirement
    bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LIB = "libraftengine.so"


def built_library():
    """The library to package: a prebuilt one, or one built here from the checkout."""
    prebuilt = os.environ.get("RAFTENGINE_PREBUILT_LIBRARY")
    if prebuilt:
        if not os.path.isfile(prebuilt):
            sys.exit(f"RAFTENGINE_PREBUILT_LIBRARY={prebuilt}: no such file")
        return prebuilt
    if not os.path.isfile(os.path.join(ROOT, "Package.swift")):
        sys.exit("raftengine: no RaftEngine checkout around this package to build libraftengine.so from; "
                 "set RAFTENGINE_PREBUILT_LIBRARY=/path/to/libraftengine.so")
    swift = os.environ.get("SWIFT") or shutil.which("swift")
    if not swift:
        sys.exit("raftengine: building libraftengine.so needs the Swift toolchain, and no `swift` is on PATH; "
                 "set SWIFT=/path/to/swift, or RAFTENGINE_PREBUILT_LIBRARY=/path/to/libraftengine.so")
    # The same build as `make lib`: release, the Swift runtime inside, only the header's
    # functions exported, SONAME libraftengine.so.0.
    cmd = ["make", "-C", ROOT, "lib", f"SWIFT={swift}"]
    print("raftengine: building the library:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    return os.path.join(ROOT, ".build", "release", LIB)


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "raftengine", LIB)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Stripped: the debug sections are most of the file's size.
        src = built_library()
        if shutil.which("strip") and subprocess.run(["strip", "--strip-unneeded", "-o", target, src]).returncode == 0:
            return
        shutil.copyfile(src, target)


class PlatformDistribution(Distribution):
    """Not pure: the wheel carries a Linux shared library."""

    def has_ext_modules(self):
        return True


cmdclass = {"build_py": BuildWithLibrary}

if bdist_wheel is not None:
    class PlatformWheel(bdist_wheel):
        """Any Python 3 (ctypes needs no ABI), this platform only."""

        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel

setup(cmdclass=cmdclass, distclass=PlatformDistribution)
