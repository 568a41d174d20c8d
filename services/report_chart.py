"""The report chart: questions per day (bars) and helpful % per day (line), Korean labels, as PNG bytes."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers

from matplotlib import font_manager  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from services.storage import DailyStat  # noqa: E402

WIDTH_PX, HEIGHT_PX, DPI = 1000, 480, 100
HANGUL_FONT = "NanumGothic"


def _register_hangul_font() -> None:
    """Use the NanumGothic file shipped in koreanize-matplotlib (importing that module itself warns)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return
    for font in sorted(Path(spec.submodule_search_locations[0], "fonts").glob("NanumGothic*.ttf")):
        font_manager.fontManager.addfont(str(font))
    matplotlib.rcParams["font.family"] = HANGUL_FONT
    matplotlib.rcParams["axes.unicode_minus"] = False  # the Unicode minus is missing from the font


_register_hangul_font()


def daily_chart(days: Sequence[DailyStat], title: str) -> bytes | None:
    """PNG bytes, or None when the period has no questions (nothing worth a chart)."""
    if not days or not any(d.questions for d in days):
        return None
    labels = [d.day.strftime("%m/%d") for d in days]
    fig, ax = plt.subplots(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    try:
        ax.bar(labels, [d.questions for d in days], color="#4a7bd0", label="질문 수")
        ax.set_ylabel("질문 수")
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=45 if len(days) > 14 else 0, labelsize=8)
        helpful = ax.twinx()
        points = [(i, 100 * d.up / (d.up + d.down)) for i, d in enumerate(days) if d.up + d.down]
        if points:
            helpful.plot([p[0] for p in points], [p[1] for p in points], color="#e07b39", marker="o", label="도움됨 %")
        helpful.set_ylim(0, 105)
        helpful.set_ylabel("도움됨 %")
        fig.legend(loc="upper left", bbox_to_anchor=(0.07, 0.92), fontsize=8)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buffer.getvalue()
