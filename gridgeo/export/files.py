"""Writing files safely: atomic, readable by the group, named after the coordinates they hold, phones masked."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gridgeo.crs import Coords

#: Exported files are shared with colleagues and servers: rw-r--r--, not mkstemp's owner-only 0600.
FILE_MODE = 0o644


def write_atomic(path: Path, data: bytes) -> None:
    """Write next to ``path`` and rename, so an interrupted export never leaves half a file."""
    write_atomic_with(path, lambda tmp: tmp.write_bytes(data))


def write_atomic_with(path: Path, writer: Callable[[Path], object]) -> None:
    """Let ``writer`` fill a temporary file beside ``path``, then rename it into place (mode 0644).

    For writers that need a file name (GDAL), not bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()                  # GDAL refuses to create over an existing empty file
        writer(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def mask_phone_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``phone`` column masked (138****1234, staffing's masking); masked values are kept."""
    if "phone" not in frame.columns:
        return frame
    from gridgeo.staffing.roster import mask_phone   # local: only rosters carry phones (and scipy comes with it)

    return frame.assign(phone=[v if isinstance(v, str) and "*" in v else mask_phone(v) for v in frame["phone"]])


def coords_suffix(coords: Coords) -> str:
    """``""`` for WGS 84, ``"_gcj02"`` / ``"_bd09"`` otherwise: shifted files say so in their name."""
    return "" if coords == "wgs84" else f"_{coords}"
