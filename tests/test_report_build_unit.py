"""Unit tier: trialsim.report.build, a failed report leaves nothing half-written."""

from __future__ import annotations

import pytest

from tests.conftest import CONVENTIONAL, write
from trialsim import atomic
from trialsim.atomic import write_files_atomically
from trialsim.report import make_report


def test_unit_a_failed_report_leaves_nothing_half_written(tmp_path, monkeypatch):
    import trialsim.report.build as report

    path = write(tmp_path, CONVENTIONAL)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("previous report")

    def boom(doc):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(report, "render_pdf", boom)
    with pytest.raises(RuntimeError):
        make_report(path, out=out, replicates=10, seed=1, workers=1)
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert (out / "report.html").read_text() == "previous report"

    # a failure while the files are written (a full disk) leaves the folder as it was
    import errno
    from pathlib import Path

    real_write = Path.write_bytes

    def full_disk(self, data):
        if self.name == "b.pdf":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError):
        write_files_atomically(out, {"a.html": b"a", "b.pdf": b"b"})
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]   # neither file, no temporary
    assert not [p for p in tmp_path.iterdir() if atomic.MARK in p.name]


def test_unit_formats_are_checked_and_ordered():
    from trialsim.report import ReportError
    from trialsim.report.build import check_formats

    assert check_formats("both") == check_formats(["pdf", "html"]) == ("html", "pdf")
    assert check_formats("pdf") == ("pdf",)
    for bad in ("docx", [], ["html", "svg"]):
        with pytest.raises(ReportError, match="formats must be some of html, pdf"):
            check_formats(bad)
