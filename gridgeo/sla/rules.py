"""SLA rule tables: (jurisdiction, channel, category or group, urgent) -> limit, extension, yellow card.

A rule row matches a case when each of its keys matches (``*`` or blank
matches anything): ``channel`` tokens are found *inside* the case's channel
("12345" matches "12345热线"); ``category`` tokens equal the case's category or
its request type (诉求类型: 咨询, 求助, 建议, 投诉, 举报 — the groups the
hotline rules are written for); ``urgent`` is 是/否. Several tokens are
separated by ``;``, ``、`` or ``|``. Among the rows that match, a user's table
wins over the preset it extends, then the more specific row (more keys set),
then the earlier row. A case no row matches gets no rule: it is listed, never
given a default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from gridgeo.errors import InputError, Problem, summarize
from gridgeo.io.formats import read_raw

Unit = Literal["working_days", "hours"]
COLUMNS = ("jurisdiction", "channel", "category", "urgent", "limit", "unit", "extension", "yellow", "source")

#: header spellings accepted in a user rule file (besides the English names)
RULE_ALIASES: dict[str, tuple[str, ...]] = {
    "jurisdiction": ("地区", "辖区", "适用地区", "地市"),
    "channel": ("渠道", "受理渠道", "来源"),
    "category": ("类别", "诉求类型", "事件类别", "诉求类别", "类别或分组", "分类"),
    "urgent": ("紧急", "是否紧急", "紧急程度"),
    "limit": ("时限", "办理时限", "办结时限", "期限"),
    "unit": ("单位", "时限单位"),
    "extension": ("延期", "延期时限", "可延期"),
    "yellow": ("黄牌", "黄牌阈值", "预警", "黄牌预警"),
    "source": ("来源依据", "依据", "出处", "备注"),
}
_UNIT_WORDS: dict[str, Unit] = {"working_days": "working_days", "working days": "working_days", "wd": "working_days",
                                "工作日": "working_days", "个工作日": "working_days", "天": "working_days",
                                "hours": "hours", "hour": "hours", "h": "hours", "小时": "hours", "个小时": "hours"}
_ANY = {"", "*", "全部", "所有", "任意", "any", "all", "不限"}
_YES = {"是", "紧急", "yes", "y", "true", "1", "急"}
_NO = {"否", "不紧急", "一般", "no", "n", "false", "0", "非紧急"}
_SPLIT = re.compile(r"[;；、|,，]")

_JINAN = "济南市网格化服务管理实施意见（domain.md, seeds/002）：紧急事项当天反馈，3至5个工作日内办理完毕（取5）；黄牌阈值按山东12345"
_SHANDONG = "山东省12345热线：投诉15个工作日，可延期一次7个工作日；剩1个工作日黄牌，超期首日红牌（domain.md）"
_GUANGDONG = "广东省12345热线（2022）：咨询2、求助和建议10、投诉和举报15个工作日（domain.md）；黄牌阈值按山东12345"

_PRESET_ROWS: dict[str, list[tuple[str, str, str, int, Unit, int, int, str]]] = {
    # (channel, category, urgent, limit, unit, extension, yellow, source)
    "jinan": [
        ("*", "*", "是", 0, "working_days", 0, 0, _JINAN),
        ("*", "*", "否", 5, "working_days", 0, 1, _JINAN),
    ],
    "shandong": [
        ("12345", "投诉", "*", 15, "working_days", 7, 1, _SHANDONG),
    ],
    "guangdong": [
        ("12345", "咨询", "*", 2, "working_days", 0, 1, _GUANGDONG),
        ("12345", "求助;建议", "*", 10, "working_days", 0, 1, _GUANGDONG),
        ("12345", "投诉;举报", "*", 15, "working_days", 0, 1, _GUANGDONG),
    ],
}
PRESETS = tuple(_PRESET_ROWS)


@dataclass(frozen=True)
class RuleSet:
    """The rules in force: one row per rule, in match priority order (``priority`` then ``order``).

    ``name`` says where they came from ("jinan", "jinan + rules.csv").
    """

    rules: pd.DataFrame
    name: str

    def __len__(self) -> int:
        return len(self.rules)


def preset(name: str) -> RuleSet:
    """Return a shipped preset (jinan, shandong, guangdong)."""
    key = name.strip().lower()
    if key not in _PRESET_ROWS:
        raise InputError("unknown rule preset", value=name, code="err.sla.unknown_preset",
                         presets=", ".join(PRESETS), remedy=f"use one of: {', '.join(PRESETS)}, or a rule file")
    frame = pd.DataFrame(_PRESET_ROWS[key], columns=[c for c in COLUMNS if c != "jurisdiction"])
    frame.insert(0, "jurisdiction", key)
    return RuleSet(_finish(frame, priority=0), key)


def combine(*sets: RuleSet) -> RuleSet:
    """Stack rule sets: a later set extends (and takes priority over) the earlier ones."""
    parts = [s.rules.assign(priority=k) for k, s in enumerate(sets)]
    frame = pd.concat(parts, ignore_index=True)
    return RuleSet(_finish(frame.drop(columns=["order"]), priority=None), " + ".join(s.name for s in sets))


def load_rules(spec: str | Path | Sequence[str | Path]) -> RuleSet:
    """A preset name, a rule file, or several of them (later ones extend earlier ones)."""
    items = [spec] if isinstance(spec, (str, Path)) else list(spec)
    if not items:
        raise InputError("no rules given", code="err.sla.no_rules",
                         remedy=f"choose a preset ({', '.join(PRESETS)}) or a rule file")
    # a bare word that is no file is a misspelt preset, not a missing file
    sets = [preset(str(i)) if str(i).strip().lower() in _PRESET_ROWS or not (Path(i).suffix or Path(i).exists())
            else read_rules(i) for i in items]
    return sets[0] if len(sets) == 1 else combine(*sets)


def read_rules(path: str | Path) -> RuleSet:
    """Read a user rule file (CSV/XLSX, Chinese or English headers); every bad row reported at once."""
    raw = read_raw(path, layer_name="rules").frame
    rename: dict[str, str] = {}
    for col in raw.columns:
        key = str(col).strip().lower()
        for name, aliases in RULE_ALIASES.items():
            if (key == name or key in aliases) and name not in rename.values():
                rename[col] = name
                break
    df = raw.rename(columns=rename)
    if "limit" not in df:
        raise InputError("missing column limit (时限)", path=path, code="err.sla.rules_no_limit",
                         value=", ".join(map(str, raw.columns)) or "(none)",
                         remedy="add a column 时限 with the number of working days (or hours, with 单位=小时)")
    for name in COLUMNS:
        if name not in df:
            df[name] = ""
    problems: list[Problem] = []
    rows: list[tuple[object, ...]] = []
    for pos, rec in enumerate(df[list(COLUMNS)].itertuples(index=False)):
        row = pos + 2
        values = [str(v).strip() for v in rec]
        if not any(values):
            continue
        jur, channel, category, urgent, limit, unit, ext, yellow, source = values
        u = _UNIT_WORDS.get(unit.lower(), None) if unit else "working_days"
        if u is None:
            problems.append(Problem("unit is neither working days nor hours", "err.sla.rules_unit", row=row,
                                    value=unit, remedy="write 工作日 or 小时"))
            continue
        urg = urgent.lower()
        if urg not in _ANY | _YES | _NO:
            problems.append(Problem("urgent is not yes/no/any", "err.sla.rules_urgent", row=row, value=urgent,
                                    remedy="write 是, 否 or * (any)"))
            continue
        nums: list[int] = []
        for label, text, required in (("limit", limit, True), ("extension", ext, False), ("yellow", yellow, False)):
            num = pd.to_numeric(text, errors="coerce") if text else (np.nan if required else 0)
            if pd.isna(num) or num < 0 or num != int(num):
                problems.append(Problem(f"{label} must be a whole number ≥ 0", f"err.sla.rules_{label}", row=row,
                                        value=text, remedy="enter a number such as 5"))
                break
            nums.append(int(num))
        else:
            rows.append((jur or Path(path).stem, channel or "*", category or "*",
                         "是" if urg in _YES else "否" if urg in _NO else "*", nums[0], u, nums[1], nums[2],
                         source or Path(path).name))
    if problems:
        raise InputError(summarize(problems, str(path)), path=path, code="err.sla.rules_rows",
                         problems=problems, count=len(problems))
    if not rows:
        raise InputError("holds no rule", path=path, code="err.sla.rules_empty",
                         remedy="add one row per rule: 渠道, 类别, 紧急, 时限, 单位")
    return RuleSet(_finish(pd.DataFrame(rows, columns=list(COLUMNS)), priority=0), Path(path).name)


def _tokens(cell: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in _SPLIT.split(str(cell)) if p.strip())
    return () if not parts or any(p.lower() in _ANY for p in parts) else parts


def _finish(frame: pd.DataFrame, *, priority: int | None) -> pd.DataFrame:
    out = frame.copy()
    if priority is not None:
        out["priority"] = priority
    keys = (out["channel"].map(lambda c: len(_tokens(c)) > 0).astype(int)
            + out["category"].map(lambda c: len(_tokens(c)) > 0).astype(int)
            + (out["urgent"] != "*").astype(int))
    out["specificity"] = keys
    out = out.sort_values(["priority", "specificity"], ascending=[False, False], kind="stable")
    out = out.reset_index(drop=True)
    out["order"] = np.arange(len(out))
    out["rule_id"] = [f"R{i + 1}" for i in range(len(out))]
    return out


def match(rules: RuleSet, channel: pd.Series, category: pd.Series, request_type: pd.Series,
          urgent: pd.Series) -> np.ndarray:
    """Position of the rule (row of ``rules.rules``) each case falls under, -1 where none matches.

    Matching runs once per distinct (channel, category, request type, urgent)
    combination, not once per case.
    """
    parts = []
    for series in (channel, category, request_type):
        codes_i, uniq = series.factorize(use_na_sentinel=False)
        parts.append((codes_i.astype(np.int64), [("" if pd.isna(u) else str(u)) for u in uniq]))
    urg = urgent.fillna(False).to_numpy(dtype=bool).astype(np.int64)
    combined = ((parts[0][0] * len(parts[1][1]) + parts[1][0]) * len(parts[2][1]) + parts[2][0]) * 2 + urg
    codes, keys = pd.factorize(combined)
    uniques = []
    for k in keys.tolist():
        k, u = divmod(k, 2)
        k, r = divmod(k, len(parts[2][1]))
        c0, c1 = divmod(k, len(parts[1][1]))
        uniques.append((parts[0][1][c0], parts[1][1][c1], parts[2][1][r], bool(u)))
    table = [(_tokens(r.channel), _tokens(r.category), r.urgent) for r in rules.rules.itertuples()]
    found = np.full(len(uniques), -1, dtype=np.int64)
    for u, (chan, cat, rtype, urg) in enumerate(uniques):
        chan_l = str(chan).lower()
        for pos, (r_chan, r_cat, r_urg) in enumerate(table):
            if r_chan and not any(tok.lower() in chan_l for tok in r_chan):
                continue
            if r_cat and cat not in r_cat and rtype not in r_cat:
                continue
            if r_urg != "*" and (r_urg == "是") != bool(urg):
                continue
            found[u] = pos
            break
    return found[codes.reshape(-1)]  # type: ignore[no-any-return]
