"""A minimal PEP 517 backend: builds a pure-Python wheel of the `attn`
package with the standard library only (no setuptools download), so that
`pip install ./python` works offline."""
import base64
import hashlib
import os
import zipfile

NAME, VERSION = "attn", "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "py3-none-any"


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
    built = os.path.join(os.path.dirname(ROOT), "build", "lib")
    for lib in ("libAttnRuntime.so", "libAttnCompiler.so"):
        if os.path.exists(os.path.join(built, lib)):
            yield os.path.join(built, lib), f"{NAME}/lib/{lib}"


def _record_line(arc, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arc},sha256={digest},{len(data)}"


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            f"Summary: Attention kernels compiled from one specification\n").encode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VERSION}-{TAG}.whl"
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
                                   f"Root-Is-Purelib: true\nTag: {TAG}\n").encode(),
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
