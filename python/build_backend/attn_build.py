"""A minimal PEP 517 backend: builds a wheel of the `attn` package with the
standard library only (no setuptools download), so that `pip install
./python` and `pip wheel ./python` work offline.

The wheel bundles the checkout's native libraries ($ATTN_BUILD_DIR/lib,
default build/lib): libAttnRuntime.so and libAttnCompiler.so, which carries
the parts of MLIR/LLVM it uses (ATTN_STATIC_COMPILER), so the wheel compiles
kernels on a machine with no LLVM. With them the wheel is tagged for this
platform and glibc (manylinux_<glibc of the build>_<arch>: the libraries
need libc, libm and libgcc_s only); without them it is pure Python and runs
prebuilt kernels ($ATTN_KERNEL_DIR)."""
import base64
import hashlib
import os
import platform
import zipfile

NAME, VERSION = "attn", "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATIVE = ("libAttnRuntime.so", "libAttnCompiler.so")


def _built_dir():
    build = os.environ.get("ATTN_BUILD_DIR",
                           os.path.join(os.path.dirname(ROOT), "build"))
    return os.path.join(build, "lib")


def _native_libs():
    built = _built_dir()
    return [os.path.join(built, lib) for lib in NATIVE
            if os.path.exists(os.path.join(built, lib))]


def _tag():
    """py3-none-any for a pure wheel; py3-none-manylinux_X_Y_<arch> when it
    carries libraries built against glibc X.Y."""
    if not _native_libs():
        return "py3-none-any"
    libc, version = platform.libc_ver()
    if libc != "glibc" or not version:
        raise RuntimeError("attn: native libraries are only packaged on glibc Linux")
    major, minor = version.split(".")[:2]
    return f"py3-none-manylinux_{major}_{minor}_{platform.machine()}"


def _files():
    pkg = os.path.join(ROOT, NAME)
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in sorted(filenames):
            if f.endswith(".pyc"):
                continue
            full = os.path.join(dirpath, f)
            yield full, os.path.relpath(full, ROOT)
    # The native libraries of a built checkout travel inside the package
    # (found there by attn._runtime / attn._compiler); without them the
    # package looks up $ATTN_RUNTIME_LIB / $ATTN_COMPILER_LIB.
    for lib in _native_libs():
        yield lib, f"{NAME}/lib/{os.path.basename(lib)}"


def _record_line(arc, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arc},sha256={digest},{len(data)}"


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            f"Summary: Attention kernels compiled from one specification\n").encode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tag = _tag()
    name = f"{NAME}-{VERSION}-{tag}.whl"
    dist = f"{NAME}-{VERSION}.dist-info"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for full, arc in _files():
            with open(full, "rb") as f:
                data = f.read()
            z.writestr(arc, data)
            records.append(_record_line(arc, data))
        extra = {f"{dist}/METADATA": _metadata(),
                 f"{dist}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: attn_build\n"
                                   f"Root-Is-Purelib: {str(tag.endswith('any')).lower()}\n"
                                   f"Tag: {tag}\n").encode(),
                 f"{dist}/top_level.txt": f"{NAME}\n".encode()}
        for arc, data in extra.items():
            z.writestr(arc, data)
            records.append(_record_line(arc, data))
        records.append(f"{dist}/RECORD,,")
        z.writestr(f"{dist}/RECORD", "\n".join(records) + "\n")
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist = os.path.join(metadata_directory, f"{NAME}-{VERSION}.dist-info")
    os.makedirs(dist, exist_ok=True)
    with open(os.path.join(dist, "METADATA"), "wb") as f:
        f.write(_metadata())
    return os.path.basename(dist)


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("install from the checkout: pip install ./python")
