"""The library stays a library: no Streamlit in gridgeo/, imports flow one way (style.md §2)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "gridgeo"

# rank of each top-level module: a module may import only modules of a lower rank
RANK: dict[str, float] = {
    "settings": 0, "i18n": 0, "errors": 0.5,  # errors renders messages from the i18n catalogue
    "schema": 1, "crs": 1,
    "grids": 1.5, "io": 2, "synthetic": 2, "tables": 2,
    "partition": 3, "plans": 3, "staffing": 3, "cases": 3, "coverage": 3, "summary": 3, "sla": 3,
    "maps": 4, "export": 4, "cli": 5, "__main__": 6, "__init__": 6,
}
SIDEWAYS = {("plans", "partition")}


def _module_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _gridgeo_imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "gridgeo":
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "gridgeo" and len(parts) > 1:
                    found.add(parts[1])
    return found


def _all_imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_streamlit_in_library() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in PKG.rglob("*.py")
                 if {"streamlit", "streamlit_folium"} & _all_imports(ast.parse(p.read_text(encoding="utf-8")))]
    assert offenders == []


def test_import_order() -> None:
    violations = []
    for path in PKG.rglob("*.py"):
        me = _module_of(path)
        assert me in RANK, f"new module {me}: give it a rank in tests/test_layout.py"
        for other in _gridgeo_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if other == me or other == "__version__" or other not in RANK:
                continue
            if RANK[other] >= RANK[me] and (me, other) not in SIDEWAYS:
                violations.append(f"{path.relative_to(ROOT)} imports gridgeo.{other}")
    assert violations == []


def test_readme_documents_every_partition_flag() -> None:
    from gridgeo.partition import FLAGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in FLAGS.items():
        assert f"| `{code}` | {meaning} |" in readme, code
