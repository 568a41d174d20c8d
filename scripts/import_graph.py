"""Draw docs/import-graph.png from the code: Endy's packages in layers and the imports between them.

No graphviz needed: the imports are read with ast (as tests/test_architecture.py does) and drawn with matplotlib.
Run: .venv/bin/python scripts/import_graph.py
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "services", "handlers", "endy_bot")  # bottom to top
THIRD_PARTY = ("slack_bolt", "slack_sdk", "asyncpg", "redis", "openai")
POSITION = {
    "config": (0.5, 0.08),
    "services": (0.5, 0.36),
    "handlers": (0.3, 0.64),
    "endy_bot": (0.5, 0.9),
    "slack_bolt": (0.08, 0.9),
    "slack_sdk": (0.08, 0.64),
    "asyncpg": (0.88, 0.64),
    "redis": (0.88, 0.5),
    "openai": (0.88, 0.36),
}


def edges() -> Counter[tuple[str, str]]:
    """(importing package, imported package) → how many modules make that import."""
    found: Counter[tuple[str, str]] = Counter()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            targets: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                targets |= {n.split(".")[0] for n in names}
            for target in targets & {*PACKAGES, *THIRD_PARTY}:
                if target != package:
                    found[(package, target)] += 1
    return found


def modules(package: str) -> int:
    """How many modules a package has."""
    return sum(1 for _ in (ROOT / package).rglob("*.py"))


def draw(out: Path) -> None:
    """Write the picture."""
    fig, ax = plt.subplots(figsize=(9, 7.5), dpi=110)
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    for name, (x, y) in POSITION.items():
        ours = name in PACKAGES
        label = f"{name}\n{modules(name)} modules" if ours else name
        box = FancyBboxPatch(
            (x - 0.09, y - 0.04),
            0.18,
            0.08,
            boxstyle="round,pad=0.01",
            facecolor="#dbe9f6" if ours else "#eeeeee",
            edgecolor="#1f4e79" if ours else "#888888",
        )
        ax.add_patch(box)
        ax.text(x, y, label, ha="center", va="center", fontsize=10 if ours else 9)
    for (src, dst), n in sorted(edges().items()):
        (x1, y1), (x2, y2) = POSITION[src], POSITION[dst]
        upward = dst in PACKAGES and PACKAGES.index(dst) > PACKAGES.index(src)
        bend = 0.25 if abs(x1 - x2) < 0.01 and abs(y1 - y2) > 0.3 else 0.08  # past the box in between
        arrow = FancyArrowPatch(
            (x1, y1),
            (x2, y2),
            arrowstyle="-|>",
            mutation_scale=14,
            shrinkA=24,
            shrinkB=24,
            color="#c00000" if upward else ("#1f4e79" if dst in PACKAGES else "#999999"),
            linewidth=1.2,
            connectionstyle=f"arc3,rad={bend}",
        )
        ax.add_patch(arrow)
        offset = 0.1 if bend > 0.1 else 0.015
        ax.text((x1 + x2) / 2 + offset, (y1 + y2) / 2, str(n), fontsize=8, color="#333333")
    ax.set_title("Endy: imports between packages (number = importing modules); red would be upward", fontsize=11)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    draw(ROOT / "docs" / "import-graph.png")
