"""Image files: header probing, strict decoding, encoding, and atomic durable writes.

* ``probe`` reads only the header (Pillow opens lazily), so a PNG that claims 100000x100000
  is refused before a byte of pixel data is decoded, and a FIFO or device named ``.png`` is
  refused before anything opens it (opening a FIFO would block forever).
* ``decode`` uses OpenCV, which keeps 16-bit samples, expands palettes (with transparency
  to alpha) and returns ``None`` on truncated data instead of a half-grey picture. HEIC/HEIF
  (a phone's photos, which OpenCV does not read) goes through Pillow with ``pillow-heif``.
* ``atomic_write`` writes a temp file in the destination folder, fsyncs it, ``os.replace``s
  it over the target and fsyncs the folder: a crash at any instant leaves either the old
  file or the new one, never a partial one a downstream job could pick up.
"""
from __future__ import annotations

import functools
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from batchcolor.errors import InputError

INPUT_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".heic", ".heif"})
# The one table of output types: suffix -> whether rows can be streamed into the file
# (:func:`row_writer`); ``run --format`` offers the names in OUTPUT_FORMATS.
OUTPUT_SUFFIXES = {".png": True, ".tif": True, ".tiff": True, ".jpg": False, ".jpeg": False, ".webp": False,
                   ".bmp": False}
OUTPUT_FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
_PIL_FORMATS = {"PNG", "JPEG", "BMP", "TIFF", "WEBP", "MPO", "GIF", "HEIF"}


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    mode: str
    has_alpha: bool = False
    pages: int = 1  # a multi-page TIFF: only the first page is colorized, and the log says so

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def colour(self) -> bool:
        """Whether the file stores colour (gray and bilevel files do not)."""
        return self.mode not in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def _cv2():
    import cv2

    # silent: a bad file gets one line of ours; OpenCV/libtiff [ERROR] lines would only repeat it
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


def check_regular_file(path: Path) -> os.stat_result:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError(f"cannot stat: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file (a FIFO, device or socket)")
    if st.st_size == 0:
        raise InputError("empty file (0 bytes)")
    return st


def probe(path: Path | bytes, max_pixels: int | None = None) -> ImageInfo:
    """Header-only look at an image (a path, or bytes already read); raises InputError with a
    reason a person can act on."""
    import io

    from PIL import Image, UnidentifiedImageError

    if isinstance(path, Path):
        check_regular_file(path)
    if _is_heif(_head(path)):  # (pillow-heif imports in 50 ms: only for a HEIF)
        _heif_opener()
    Image.MAX_IMAGE_PIXELS = None  # our own limit below, checked before decoding
    try:
        with Image.open(path if isinstance(path, Path) else io.BytesIO(path)) as im:
            alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
            info = ImageInfo(width=im.width, height=im.height, format=str(im.format), mode=str(im.mode), has_alpha=alpha,
                             pages=int(getattr(im, "n_frames", 1) or 1) if im.format in ("TIFF", "GIF") else 1)
    except UnidentifiedImageError as exc:
        raise InputError("not an image (unrecognised header)") from exc
    except OSError as exc:
        raise InputError(f"unreadable image header: {exc}") from exc
    if info.format not in _PIL_FORMATS:
        raise InputError(f"unsupported image format {info.format}")
    if info.width < 1 or info.height < 1:
        raise InputError(f"image has no pixels ({info.width}x{info.height})")
    if max_pixels is not None and info.pixels > max_pixels:
        raise InputError(
            f"image is {info.width}x{info.height} = {info.pixels / 1e6:.1f} MP, over --max-pixels "
            f"{max_pixels / 1e6:.1f} MP"
        )
    return info


def read_input(path: Path, max_pixels: int | None = None) -> tuple[bytes, os.stat_result, ImageInfo]:
    """Open an input once and read it, checked on what was actually opened.

    Planning probes a file by its path; by the time a worker reads it, it may have been
    swapped for a FIFO (opening one blocks), a link to ``/dev/zero`` (endless), or a bigger
    image. So: open without blocking, ``fstat`` the descriptor (a regular file, or refuse),
    read at most ``st_size`` bytes, and probe the header again from those bytes, with
    ``max_pixels``. The returned stat is the one the bytes belong to."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a FIFO, device or socket)")
        if st.st_size == 0:
            raise InputError("empty file (0 bytes)")
        data = fh.read(st.st_size)
    if len(data) != st.st_size:
        raise InputError(f"changed while being read ({len(data)} of {st.st_size} bytes)")
    return data, st, probe(data, max_pixels)


def decode(path: Path, gray: bool = False) -> np.ndarray:
    """Decode to OpenCV's layout: H x W [x C], BGR[A] order, uint8 or uint16.

    ``gray=True`` lets the decoder convert to one channel row by row (BT.601, as the model's
    own conversion), which keeps a 20000 x 20000 RGB scan at 400 MB instead of 1.2 GB; use
    it only for images without alpha and for 1-channel models.
    """
    if _is_heif(_head(path)):
        return _decode_heif(path, gray)
    cv2 = _cv2()
    flags = (cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH) if gray else cv2.IMREAD_UNCHANGED
    image = cv2.imread(str(path), flags)  # straight from the file: no second copy of the bytes
    return _checked(image)


def decode_bytes(data: bytes, gray: bool = False) -> np.ndarray:
    if _is_heif(data[:12]):
        import io

        return _decode_heif(io.BytesIO(data), gray)
    cv2 = _cv2()
    flags = (cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH) if gray else cv2.IMREAD_UNCHANGED
    return _checked(cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags))


def decode_bgr(data: bytes) -> np.ndarray:
    """Any input's bytes as 8-bit BGR (a photo, for ``prepare``): OpenCV's IMREAD_COLOR, or the
    HEIF decoder's colour without its alpha."""
    if _is_heif(data[:12]):
        import io

        return np.ascontiguousarray(_decode_heif(io.BytesIO(data), False)[:, :, :3])
    cv2 = _cv2()
    return _checked(cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR))


_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def _is_heif(head: bytes) -> bool:
    """An ISO base media file whose brand is HEIF's (by content, as OpenCV goes by content)."""
    return len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _head(source: Path | bytes) -> bytes:
    """The first 12 bytes: enough to tell a HEIF by its ``ftyp`` box."""
    if isinstance(source, Path):
        with open(source, "rb") as f:
            return f.read(12)
    return bytes(source[:12])


@functools.cache
def _heif_opener() -> bool:
    """Pillow reads HEIF once ``pillow-heif`` registers it; False where it is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _decode_heif(source: Any, gray: bool) -> np.ndarray:
    """HEIC/HEIF pixels in OpenCV's layout (gray, BGR or BGRA, uint8), turned as the file says
    (libheif applies its rotation and mirror boxes; an EXIF orientation is applied too)."""
    from PIL import Image, ImageOps

    if not _heif_opener():
        raise InputError("HEIC/HEIF needs the pillow-heif package")
    try:
        with Image.open(source) as im:
            im = ImageOps.exif_transpose(im)
            if gray:
                return _checked(np.asarray(im.convert("L")))
            rgb = np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    except InputError:
        raise
    except Exception as exc:  # libheif's errors are plain exceptions: one clear line per file
        raise InputError(f"cannot decode HEIF: {exc}") from exc
    return _checked(np.ascontiguousarray(rgb[:, :, [2, 1, 0, 3][: rgb.shape[2]]]))


HINTS_SUFFIX = ".hints.png"


def hint_layer_for(drawing: Path) -> Path:
    """``NAME.hints.png`` beside ``NAME.EXT``: the drawing's hint layer, if it exists."""
    return drawing.with_name(drawing.stem + HINTS_SUFFIX)


def is_hint_layer(path: Path) -> bool:
    return path.name.lower().endswith(HINTS_SUFFIX)


def _checked(image: np.ndarray | None) -> np.ndarray:
    if image is None:
        raise InputError("cannot decode: the file is truncated or corrupt")
    if image.dtype not in (np.uint8, np.uint16):
        raise InputError(f"unsupported sample type {image.dtype}")
    return image


def output_suffix(path: Path) -> str:
    """The output type of ``path`` (lower-case suffix); ValueError for one we cannot write."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{path}: unsupported output type {suffix or '(none)'}; use .png, .jpg, .webp, .bmp or .tif")
    return suffix


def row_writer(suffix: str) -> Any:
    """The streamed encoder for ``suffix`` (``Writer(fh, width, height, channels)`` with
    ``write_rows``/``close``/``abort``), or None: encode from memory."""
    if not OUTPUT_SUFFIXES.get(suffix, False):
        return None
    if suffix == ".png":
        from batchcolor.imageio.pngstream import PngWriter

        return PngWriter
    from batchcolor.imageio.tiffstream import TiffWriter

    return TiffWriter


def encode(image: np.ndarray, suffix: str, jpeg_quality: int = 95) -> bytes:
    cv2 = _cv2()
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        if image.ndim == 3 and image.shape[2] == 4:  # JPEG has no alpha: as the picture shows over white
            from batchcolor.imageio.pixels import over_white

            image = over_white(image)
        params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    elif suffix == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101]  # lossless
    ok, buf = cv2.imencode(suffix, image, params)
    if not ok:
        raise InputError(f"cannot encode as {suffix}")
    return buf.tobytes()


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success fsync it and rename it into place.

    The temp name starts with ``.`` and ends ``.partial`` so walkers and people skip it; on
    failure it is removed. Leftovers from a ``kill -9`` are swept by the batch runner.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    # mkstemp makes 0600 files; outputs get the mode any new file would (0666 minus umask),
    # so the rest of the studio can read what the nightly job wrote.
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    """The process umask, read once at import (setting it to read it is not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(target: Path, data: bytes) -> None:
    with atomic_output(target) as tmp:
        tmp.write_bytes(data)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
