"""Dedicated grids (专属网格) are shown apart: own map style, legend entry and tooltip, counted apart, never out of bounds."""

from __future__ import annotations

import json

import folium
import pandas as pd

from gridgeo import maps
from gridgeo.plans import EditSession
from gridgeo.plans.evaluate import evaluate
from tests.plans_support import small_district, small_plan


def _legend(m: folium.Map) -> str:
    return str(next(c for c in m._children.values() if isinstance(c, maps.Legend)).html)


def _dedicated_plan() -> tuple[pd.Index, object]:
    """The small plan with its largest grid turned into a dedicated grid."""
    plan = small_plan()
    grids = plan.grids.copy()
    grids["kind"] = "basic"
    hh = plan.assignments.groupby("grid_id")["households"].sum().reindex(grids.index).fillna(0)
    big = hh.idxmax()
    grids.loc[big, "kind"] = "dedicated"
    return grids.index[grids["kind"] == "dedicated"], plan.evolve(grids=grids)


def test_evaluation_counts_dedicated_grids_apart_and_never_out_of_bounds() -> None:
    d = small_district()
    plan = small_plan()
    rules = plan.rules
    hh = plan.assignments.groupby("grid_id")["households"].sum().reindex(plan.grids.index).fillna(0)
    # a grid far above the maximum: as a basic grid it is out of bounds, as a dedicated grid it is not
    tiny = rules.min_households // 2
    lo_rules = rules.with_bounds(min_households=tiny, max_households=int(hh.min()) - 1,
                                 target_households=int(hh.min()) - 2)
    basic = evaluate(plan, d, rules=lo_rules)
    assert basic.metrics["grids_out_of_bounds"] == len(plan.grids)          # every grid above this maximum
    grids = plan.grids.copy()
    chosen = list(grids.index[:2])
    grids["kind"] = ["dedicated" if g in chosen else "basic" for g in grids.index]
    ev = evaluate(plan.evolve(grids=grids), d, rules=lo_rules)
    assert ev.metrics["n_dedicated"] == 2
    assert ev.metrics["grids_out_of_bounds"] == len(plan.grids) - 2
    assert ev.grids.loc[chosen, "status"].tolist() == ["exempt", "exempt"]
    assert ev.grids.loc[chosen, "in_bounds"].all()
    assert not ev.grids.loc[chosen, "flags"].str.contains("out_of_bounds").any()
    assert ev.grids.loc[chosen, "kind"].tolist() == ["dedicated", "dedicated"]


def test_the_planner_map_draws_a_dedicated_grid_apart_with_its_own_legend_entry() -> None:
    d = small_district()
    ids, plan = _dedicated_plan()
    (ded,) = list(ids)
    layers = maps.grid_layers(plan.grids, d.communities, lang="zh")
    props = {f["properties"]["grid_id"]: f for f in layers.grids["features"]}
    assert props[ded]["properties"]["status"] == "exempt"
    assert props[ded]["properties"]["status_label"] == "专属网格，不受户数限制"     # the tooltip says why
    style = maps.grid_style(props[ded])
    others = [maps.grid_style(f) for g, f in props.items() if g != ded]
    assert style["fillColor"] == maps.DEDICATED_FILL and style["dashArray"] == maps.STATUS_BORDERS["exempt"][
        "dashArray"]
    assert all((o["color"], o["dashArray"], o["fillColor"]) != (style["color"], style["dashArray"], style["fillColor"])
               for o in others)
    assert layers.status_counts["exempt"] == 1
    assert sum(layers.status_counts[s] for s in ("under", "within", "over")) == len(plan.grids) - 1
    assert "专属网格，不受户数限制（1 个）" in _legend(maps.grid_map(layers))
    # a plan without dedicated grids has no such legend entry
    assert "Dedicated grids" not in _legend(maps.grid_map(maps.grid_layers(small_plan().grids, d.communities,
                                                                           lang="en")))


def test_the_editing_map_styles_a_dedicated_grid_apart_and_names_it_in_the_tooltip() -> None:
    d = small_district()
    plan = small_plan()
    ses = EditSession(plan, d.communities, d.buildings, d.streets)
    bid = str(d.buildings["households"].idxmax())
    check = ses.dedicate(building=bid, name="第一小学")
    new_id = next(x for x in check.touched if x not in plan.grids.index)
    assert check.dedicated == 1 and new_id not in check.out_of_bounds
    base = maps.edit_base(d.communities, d.buildings, d.streets, lang="zh")
    groups = maps.edit_groups(ses.current_grids(check), base)
    layer = next(c for c in groups[0]._children.values() if isinstance(c, maps.JsonLayer))
    feats = {f["properties"]["grid_id"]: f for f in json.loads(layer.data_js)["features"]}
    mine = feats[new_id]["properties"]
    assert mine["kind_label"] == "专属网格 · 第一小学" and mine["status"] == "exempt"
    basic_id = next(g for g in feats if g != new_id and g not in check.touched)
    assert feats[basic_id]["properties"]["kind_label"] == "基础网格"
    ded_style, basic_style = maps.edit_grid_style(feats[new_id]), maps.edit_grid_style(feats[basic_id])
    assert mine["_style"] == ded_style and feats[basic_id]["properties"]["_style"] == basic_style   # drawn so
    untouched = dict(feats[new_id], properties={**mine, "touched": False})
    assert maps.edit_grid_style(untouched)["color"] == maps.STATUS_BORDERS["exempt"]["color"]
    assert ded_style["dashArray"] and not basic_style.get("dashArray")
    assert ded_style["fillColor"] == maps.EXEMPT_COLOUR != basic_style["fillColor"]
    assert "kind_label" in layer.fields and "类型" in layer.aliases     # the tooltip lists the kind (and name)
    assert "专属网格" in _legend(maps.edit_map(base))
