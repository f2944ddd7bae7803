"""Unit tier of trialsim.curves.plots: figures are returned, and written atomically when asked."""

from __future__ import annotations

import pytest

from trialsim import curves
from trialsim.curves import plots


def test_unit_plot_returns_a_figure_and_writes_files(report, tmp_path):
    fig = plots.plot(report)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Weibull" in s for s in labels) and any("Kaplan-Meier" in s for s in labels)
    assert ax.get_xlabel().startswith("months") and "survival" in ax.get_ylabel()
    png, svg = tmp_path / "fit.png", tmp_path / "ref.svg"
    curves.plot(report, out=png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves.plot({"T1N0": curves.reference("pan2017/T1N0"), "T2N4-9": curves.reference("pan2017/T2N4-9")},
                out=svg, months=240)
    assert b"<svg" in svg.read_bytes()[:500]
    with pytest.raises(ValueError, match="must end in .png or .svg"):
        plots.plot(report, out=tmp_path / "x.pdf")
    with pytest.raises(curves.UnknownReferenceError, match="did you mean"):
        plots.plot("pan2017/T9N9")
    with pytest.raises(curves.CurveSpecError, match="missing.yaml: file not found"):
        plots.plot(str(tmp_path / "missing.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.png", "ref.svg"]
