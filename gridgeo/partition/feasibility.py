"""Feasibility arithmetic and the words for it: which grid counts fit, the nearest choice, why not.

Feasibility is arithmetic before it is search: k grids of min–max households
hold H only if min·k ≤ H ≤ max·k (``Rules.feasible_grid_counts``). When no k
fits, the plan takes the count with the fewest households outside the bounds
and says so in Chinese and English.
"""

from __future__ import annotations

from gridgeo.i18n import Lang, t
from gridgeo.settings import Rules

__all__ = ["even_split", "outside", "nearest_choice", "k_order", "fewest_grids", "explain_infeasible"]


def even_split(households: int, k: int) -> list[int]:
    """Households of k grids split as evenly as whole numbers allow."""
    base, rest = divmod(households, k)
    return [base + 1] * rest + [base] * (k - rest)


def outside(households: int, k: int, rules: Rules) -> int:
    """Households outside the bounds when ``households`` are split evenly into k grids."""
    return sum(max(0, rules.min_households - h) + max(0, h - rules.max_households)
               for h in even_split(households, k))


def nearest_choice(households: int, rules: Rules) -> int:
    """Grid count with the fewest households outside the bounds; ties go closer to target."""
    if households <= 0:
        return 1
    top = max(1, -(-households // max(rules.min_households, 1)) + 1)
    return min(range(1, top + 1),
               key=lambda k: (outside(households, k, rules), abs(households / k - rules.target_households), k))


def k_order(households: int, rules: Rules) -> list[int]:
    """Feasible grid counts, the one nearest the target size first."""
    ks = list(rules.feasible_grid_counts(households))
    return sorted(ks, key=lambda k: (abs(households / k - rules.target_households), k))


def fewest_grids(sizes: list[int], cap: int) -> int:
    """Grids a compound must span at least: first-fit decreasing of its buildings/units into ``cap``.

    ⌈H/max⌉ alone is too optimistic: 480 + 6 × 87 = 1,002 households need 3 grids, not 2.
    """
    bins: list[int] = []
    for x in sorted(sizes, reverse=True):
        for i, used in enumerate(bins):
            if used + x <= cap:
                bins[i] += x
                break
        else:
            bins.append(x)
    return max(1, len(bins), -(-sum(sizes) // cap))


def explain_infeasible(h: int, rules: Rules, lang: Lang) -> str:
    """Say why ``h`` households admit no grid count, naming both neighbouring counts."""
    lo, hi = rules.min_households, rules.max_households
    k = h // hi  # k grids hold more than max; k + 1 hold fewer than min
    opts = []
    if k >= 1:
        opts.append(t("partition.option_over", lang, k=k, per=per_grid(h, k), max=hi))
    opts.append(t("partition.option_under", lang, k=k + 1, per=per_grid(h, k + 1), min=lo))
    sep = "，" if lang == "zh" else ", "
    best = nearest_choice(h, rules)
    return t("partition.explain_infeasible", lang, households=h, min=lo, max=hi,
             options=sep.join(opts), k=best, per=per_grid(h, best), out=outside(h, best, rules))


def per_grid(h: int, k: int) -> str:
    """Households per grid as people write it: 275, or 366.7 when it does not divide."""
    q = h / k
    return f"{q:.0f}" if abs(q - round(q)) < 1e-9 else f"{q:.1f}"
