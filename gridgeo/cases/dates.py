"""Parse the date-time forms real case exports use, vectorised.

ISO strings (``2024-03-05 14:03``, ``2024-03-05T14:03+08:00``) go through
pandas' C parser in one call; the rest (``2024/3/5 9:03:07``, ``2024年3月5日
14时03分``, ``3/5/2024 2:03 PM``, Excel serial numbers mixed with text cells)
are taken apart by one regular expression per form, never row by row in Python.
Times without a zone are Beijing time (Asia/Shanghai).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TZ", "parse_datetimes"]

TZ = "Asia/Shanghai"
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "s")
_ZONE = r"(?P<zone>Z|[+-]\d{2}:?\d{2}|UTC|GMT|CST)?"
_TIME = (r"(?:[ T]+(?P<ampm1>上午|下午|凌晨|晚上|中午)?\s*(?P<h>\d{1,2})[:时点](?P<mi>\d{1,2})?分?"
         r"(?:[:](?P<s>\d{1,2})(?:\.\d+)?秒?|(?P<s2>\d{1,2})秒)?)?\s*(?P<ampm>AM|PM|am|pm|a\.m\.|p\.m\.)?\s*")
#: year first: 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日
_YMD = rf"^(?P<y>\d{{4}})[-/.年](?P<mo>\d{{1,2}})[-/.月](?P<d>\d{{1,2}})日?{_TIME}{_ZONE}$"
#: month first (English-language systems): 3/5/2024 2:03 PM
_MDY = rf"^(?P<mo>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}}){_TIME}{_ZONE}$"
#: 20240305 or 20240305 140300
_COMPACT = r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:[ T]?(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?$"
_SERIAL = r"^\d{5}(?:\.\d+)?$"  # Excel serial day numbers 1927–2173


def _localise(naive: pd.Series, zone: pd.Series | None) -> pd.Series:
    """Naive wall-clock times -> Asia/Shanghai, honouring an explicit zone per row."""
    out = pd.Series(pd.NaT, index=naive.index, dtype=f"datetime64[s, {TZ}]")
    if zone is None:
        zone = pd.Series("", index=naive.index)
    zone = zone.fillna("").str.upper().str.replace(":", "", regex=False)
    for z in zone.unique():
        m = (zone == z).to_numpy()
        part = pd.to_datetime(naive[m]).astype("datetime64[s]")
        if z in ("", "CST"):  # CST in Chinese exports is China Standard Time
            out[m] = part.dt.tz_localize(TZ, ambiguous="NaT", nonexistent="NaT")
        elif z in ("Z", "UTC", "GMT"):
            out[m] = part.dt.tz_localize("UTC").dt.tz_convert(TZ)
        else:
            sign = 1 if z[0] == "+" else -1
            offset = pd.to_timedelta(sign * (int(z[1:3]) * 60 + int(z[3:5])), unit="min")
            out[m] = (part - offset).dt.tz_localize("UTC").dt.tz_convert(TZ)
    return out


def _from_parts(parts: pd.DataFrame) -> pd.Series:
    """Build times from regex groups; impossible dates (Feb 30, 25 h) become NaT."""
    num = {k: pd.to_numeric(parts[k], errors="coerce") if k in parts else pd.Series(np.nan, index=parts.index)
           for k in ("y", "mo", "d", "h", "mi", "s", "s2")}
    hour = num["h"].fillna(0)
    sec = num["s"].fillna(num["s2"]).fillna(0)
    ampm = pd.Series("", index=parts.index)
    for key in ("ampm", "ampm1"):
        if key in parts:
            ampm = ampm.where(parts[key].isna(), parts[key].fillna("").str.lower().str.replace(".", "", regex=False))
    pm = ampm.isin(["pm", "下午", "晚上"]) | (ampm.eq("中午") & hour.lt(11))
    am = ampm.isin(["am", "上午", "凌晨"])
    hour = hour.where(~(pm & hour.lt(12)), hour + 12).where(~(am & hour.eq(12)), 0)
    bad_ampm = (pm | am) & (num["h"] > 12)
    frame = pd.DataFrame({"year": num["y"], "month": num["mo"], "day": num["d"], "hour": hour,
                          "minute": num["mi"].fillna(0), "second": sec})
    ok = frame.notna().all(axis=1) & ~bad_ampm & frame["hour"].lt(24) & frame["minute"].lt(60) \
        & frame["second"].lt(61)
    out = pd.Series(pd.NaT, index=parts.index, dtype="datetime64[s]")
    if ok.any():
        out[ok] = pd.to_datetime(frame[ok].astype("int64"), errors="coerce")
    return out


def _arrow_iso(sub: pd.Series, utc: bool) -> pd.Series | None:
    """Every cell as a plain ISO 8601 time (whole seconds, zone offset when ``utc``) through Arrow's
    C++ parser, ten times pandas' speed; ``None`` when any cell needs the general parser."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(sub.array) if hasattr(sub.array, "__arrow_array__") else \
            pa.array(sub.to_numpy(dtype=object), type=pa.string())
        got = pc.cast(arr, pa.timestamp("s", tz="UTC") if utc else pa.timestamp("s"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if got.null_count:
        return None
    stamps = np.asarray(got.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype="int64").astype("datetime64[s]")
    out = pd.Series(stamps, index=sub.index)
    return out.dt.tz_localize("UTC") if utc else out


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Parse a column of date-time text; unparseable cells become ``NaT``.

    Returns a Series aligned with ``values``, dtype ``datetime64[s, Asia/Shanghai]``.
    Blank cells are ``NaT`` too: the caller tells blank from bad by the text.
    """
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        text = values.fillna("").str.strip()
    else:
        text = values.fillna("").astype(str).str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[s, {TZ}]")
    todo = np.array(text.ne("").to_numpy(), dtype=bool)
    if not todo.any():
        return out
    # 1) ISO 8601, with or without zone: pandas' fast path (zone told by the last six characters)
    zoned = np.array((text.str[-6:].str.match(r"^[+-]\d\d:?\d\d$") | text.str.endswith("Z")).fillna(False),
                     dtype=bool) & todo
    for part, utc in ((todo & ~zoned, False), (zoned, True)):
        if not part.any():
            continue
        sub = text[part]
        fast = _arrow_iso(sub, utc)
        got = fast if fast is not None else pd.to_datetime(sub, format="ISO8601", errors="coerce", utc=utc)
        ok = np.array(got.notna(), dtype=bool)
        if not ok.any():
            continue
        hit = got[ok]
        if utc:
            out[hit.index] = hit.dt.tz_convert(TZ).astype(f"datetime64[s, {TZ}]")
        else:
            out[hit.index] = hit.astype("datetime64[s]").dt.tz_localize(TZ, ambiguous="NaT", nonexistent="NaT")
        todo[np.flatnonzero(part)[ok]] = False
    # 2) Excel serial numbers (a date cell exported as its number)
    serial = text.str.match(_SERIAL).fillna(False).to_numpy() & todo
    if serial.any():
        days = text[serial].astype(float).to_numpy()
        stamps = _EXCEL_EPOCH + np.round(days * 86400).astype("int64").astype("timedelta64[s]")
        out[text.index[serial]] = pd.Series(stamps, index=text.index[serial]).dt.tz_localize(TZ)
        todo &= ~serial
    # 3) the other written forms
    for pattern in (_YMD, _MDY, _COMPACT):
        if not todo.any():
            break
        sub = text[todo]
        parts = sub.str.extract(pattern)
        hit = parts["y"].notna()
        if not hit.any():
            continue
        naive = _from_parts(parts[hit])
        zone = parts.loc[hit, "zone"] if "zone" in parts else None
        out[naive.index] = _localise(naive, zone)
        todo[text.index.get_indexer(naive.index)] = False
    return out
