"""``plan move|merge|split|lock|unlock|rebalance|dedicate|redivide``: hand edits saved as new versions.

Each command loads a version from the workspace (the latest by default), makes
one edit with :class:`gridgeo.plans.EditSession`, prints the live validation
and saves the result as a new version whose id is printed on the last line.
"""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from gridgeo.i18n import Lang, t
from gridgeo.plans.store import DEFAULT_WORKSPACE, Workspace

def _session(args: argparse.Namespace) -> tuple[Workspace, Any, Any]:
    from gridgeo.plans.edit import EditSession  # heavy: the engine's tessellation

    ws = Workspace.open(args.store)
    plan = ws.load(args.version)
    d = ws.district()
    seed = int(plan.meta.get("seed", 0)) if args.seed is None else int(args.seed)
    ses = EditSession(plan, d.communities, d.buildings, d.streets, seed=seed, issued=ws.issued_codes())
    return ws, plan, ses


def _author(args: argparse.Namespace) -> str:
    if args.author:
        return str(args.author)
    try:
        return os.environ.get("GRIDGEO_AUTHOR") or getpass.getuser() or "cli"
    except (KeyError, OSError):
        return "cli"


def _finish(args: argparse.Namespace, ws: Workspace, plan: Any, ses: Any, check: Any, note: str) -> int:
    lang: Lang = args.lang
    if getattr(args, "rebalance", False):
        check = ses.rebalance()
    for line in check.lines(lang):
        print(line)
    new = ses.to_plan(note=args.note or note)
    vid = ws.save(new, parent=plan.version_id, author=_author(args), note=args.note or note,
                  branch=args.branch or False)
    print(f"{t('edit.saved', lang)}: {vid}")
    print(vid)
    return 0


def _cmd_move(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    check = ses.move(args.to, building=args.building, compound=args.compound, units=args.units)
    what = args.compound or args.building
    return _finish(args, ws, plan, ses, check, f"move {what}{' units ' + args.units if args.units else ''} "
                                               f"-> {args.to}")


def _cmd_merge(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    return _finish(args, ws, plan, ses, ses.merge(args.grid, args.other), f"merge {args.other} into {args.grid}")


def _cmd_split(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    return _finish(args, ws, plan, ses, ses.split(args.grid), f"split {args.grid}")


def _cmd_lock(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    locked = bool(args.lock)
    return _finish(args, ws, plan, ses, ses.set_locked(args.grids, locked),
                   f"{'lock' if locked else 'unlock'} {' '.join(args.grids)}")


def _cmd_rebalance(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    grids = list(args.grids)
    # pin what the loaded version's hand moves moved, and start from the grids they touched
    for e in plan.meta.get("edits", []):
        if e.get("op") in ("move", "dedicate") and not args.grids:
            grids.extend(ses.pin(building=e.get("building"), compound=e.get("compound"),
                                 units=e.get("units") or None))
            grids.extend(e.get("from", []))
    if not grids:
        print(t("edit.rebalance_nothing", args.lang))
        return 1
    return _finish(args, ws, plan, ses, ses.rebalance(grids), f"rebalance around {' '.join(sorted(set(grids)))}")


def _cmd_dedicate(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    check = ses.dedicate(building=args.building, compound=args.compound, name=args.name or "")
    return _finish(args, ws, plan, ses, check, f"dedicated grid for {args.compound or args.building}")


def _cmd_redivide(args: argparse.Namespace) -> int:
    ws, plan, ses = _session(args)
    return _finish(args, ws, plan, ses, ses.redivide(args.community), f"re-divide {args.community}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=str(DEFAULT_WORKSPACE), help="workspace GeoPackage (default %(default)s)")
    p.add_argument("--version", help="version to edit (default: the latest)")
    p.add_argument("--author", help="who made the edit (default: $GRIDGEO_AUTHOR or the login name)")
    p.add_argument("--note", help="why (saved with the version)")
    p.add_argument("--branch", nargs="?", const=True, default=None,
                   help="save as a new branch (optionally named), e.g. when someone saved meanwhile")
    p.add_argument("--seed", type=int, help="engine seed for split/re-divide (default: the version's)")


def _target(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--building", help="building id (楼栋编码)")
    g.add_argument("--compound", help="compound id (小区编码): all its buildings")


def register_edit(plan_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the hand-editing commands to the ``plan`` command group."""
    p = plan_sub.add_parser("move", help="move a building, a compound or units of a tower to a neighbouring grid")
    _common(p)
    _target(p)
    p.add_argument("--to", required=True, help="target grid id (a neighbour, same community)")
    p.add_argument("--units", help="unit (单元) range of the building to move, e.g. 1-3")
    p.add_argument("--rebalance", action="store_true",
                   help="then bring the touched grids' unlocked neighbours back within bounds")
    p.set_defaults(func=_cmd_move)
    p = plan_sub.add_parser("merge", help="merge grid OTHER into its neighbour GRID")
    _common(p)
    p.add_argument("grid", help="grid that stays")
    p.add_argument("other", help="grid merged into it (retired)")
    p.set_defaults(func=_cmd_merge)
    p = plan_sub.add_parser("split", help="split a grid in two with the engine")
    _common(p)
    p.add_argument("grid")
    p.set_defaults(func=_cmd_split)
    for name, text in (("lock", "lock grids: kept exactly by edits and re-division"), ("unlock", "unlock grids")):
        p = plan_sub.add_parser(name, help=text)
        _common(p)
        p.add_argument("grids", nargs="+")
        p.set_defaults(func=_cmd_lock, lock=name == "lock")
    p = plan_sub.add_parser("rebalance", help="bring grids and their unlocked neighbours back within bounds, "
                                              "keeping the buildings moved by hand in place")
    _common(p)
    p.add_argument("grids", nargs="*", help="grids to start from (default: those the version's moves touched)")
    p.set_defaults(func=_cmd_rebalance)
    p = plan_sub.add_parser("dedicate", help="make a building or compound a dedicated grid (专属网格)")
    _common(p)
    _target(p)
    p.add_argument("--name", help="grid name, e.g. the school's")
    p.set_defaults(func=_cmd_dedicate)
    p = plan_sub.add_parser("redivide", help="re-divide the unlocked grids of one community with the engine")
    _common(p)
    p.add_argument("--community", required=True, help="community id")
    p.set_defaults(func=_cmd_redivide)


def _plan_group(sub: argparse._SubParsersAction[argparse.ArgumentParser]
                ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = sub.choices.get("plan")
    if parser is None:
        parser = sub.add_parser("plan", help="plan versions in a workspace: edit by hand")
        return parser.add_subparsers(dest="plan_command", required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="plan_command", required=True)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the editing commands to the ``plan`` group (creating it if ``cli.plan`` did not)."""
    register_edit(_plan_group(sub))
