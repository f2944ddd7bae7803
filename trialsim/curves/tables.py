"""Survival tables read from CSV files (e.g. a digitised Kaplan-Meier curve).

A table in a file is the one input a user types by hand row by row, so every
problem is reported in one line naming the file, the 1-based data row and its
line number (:class:`CurveDataError`). The curve itself is a
:class:`~trialsim.curves.kinds.TableCurve`.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

from trialsim.curves._numeric import LazyNumpy
from trialsim.curves.kinds import TableCurve, _table_problem

np = LazyNumpy(globals())      # numpy, imported when a table is first read


class CurveDataError(ValueError):
    """A survival table (file) is unusable; the message names file and row."""

    def __init__(self, message: str, *, path: str | None = None,
                 row: int | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.row = row
        self.line = line



#: the largest CSV file read (a survival table, or patient data to fit), in bytes
MAX_CSV_BYTES = 64 * 1024 * 1024


def open_csv(path: str | Path, what: str) -> io.StringIO:
    """The text of a CSV file, read in bounded time and memory: only a regular
    file (not a folder, a named pipe or a device such as ``/dev/zero``) of at
    most :data:`MAX_CSV_BYTES`, as UTF-8 (a byte-order mark dropped). Any
    problem is a :class:`CurveDataError` naming the file and ``what`` it is."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CurveDataError(f"{name}: {what} file not found", path=name) from None
    except (OSError, ValueError) as exc:
        raise CurveDataError(f"{name}: cannot read {what} ({getattr(exc, 'strerror', None) or exc})",
                             path=name) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise CurveDataError(f"{name}: is a folder; give a CSV file ({what})", path=name)
        if not stat.S_ISREG(st.st_mode):
            raise CurveDataError(f"{name}: is not a regular file (a pipe, a device or a socket); give a CSV "
                                 f"file ({what})", path=name)
        if st.st_size > MAX_CSV_BYTES:
            raise CurveDataError(f"{name}: is {st.st_size:,} bytes, more than the {MAX_CSV_BYTES // 2 ** 20} MiB "
                                 f"read for a {what}", path=name)
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise CurveDataError(f"{name}: cannot read {what} ({exc.strerror or exc})", path=name) from None
    finally:
        os.close(fd)
    if len(raw) > MAX_CSV_BYTES:
        raise CurveDataError(f"{name}: is larger than the {MAX_CSV_BYTES // 2 ** 20} MiB read for a {what}",
                             path=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CurveDataError(f"{name}, line {line}: cannot parse CSV (not UTF-8 text: byte 0x{raw[exc.start]:02x})",
                             path=name, line=line) from None
    return io.StringIO(text, newline="")


def _parse_cell(text: str, column: str, where: str, path: str, row: int, line: int) -> float:
    cell = text.strip()
    if not cell:
        raise CurveDataError(f"{where}: {column} is empty", path=path, row=row, line=line)
    try:
        return float(cell)
    except ValueError:
        raise CurveDataError(f"{where}: {column} {cell!r} is not a number", path=path, row=row, line=line) from None


def read_table_csv(path: str | Path) -> TableCurve:
    """Read a survival table from a CSV file with a header naming ``time`` and ``survival``.

    Other columns are ignored; blank lines and lines starting with ``#`` are
    skipped. Any problem raises :class:`CurveDataError` with a one-line
    message naming the file, the 1-based data row and its line number.
    """
    p = Path(path)
    name = str(p)
    fh = open_csv(p, "survival table")
    times: list[float] = []
    surv: list[float] = []
    lines: list[int] = []
    with fh:
        reader = csv.reader(fh)

        def records():
            try:
                for fields in reader:
                    if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                        continue
                    yield reader.line_num, fields
            except (csv.Error, UnicodeDecodeError) as exc:
                raise CurveDataError(f"{name}, line {reader.line_num + 1}: cannot parse CSV ({exc})",
                                     path=name, line=reader.line_num + 1) from None

        recs = records()
        first = next(recs, None)
        if first is None:
            raise CurveDataError(f"{name}: empty file; expected a header line 'time,survival'", path=name)
        header_line, header_fields = first
        header = [h.strip().lower() for h in header_fields]
        missing = [c for c in ("time", "survival") if c not in header]
        if missing:
            raise CurveDataError(
                f"{name}, line {header_line}: header lacks column(s) {', '.join(repr(m) for m in missing)}; "
                f"a header 'time,survival' is required (found {','.join(header_fields)!r})",
                path=name, line=header_line,
            )
        it, isv = header.index("time"), header.index("survival")
        row = 0
        for line, fields in recs:
            row += 1
            where = f"{name}, data row {row} (line {line})"
            if len(fields) != len(header):
                raise CurveDataError(f"{where}: expected {len(header)} fields like the header, found {len(fields)}",
                                     path=name, row=row, line=line)
            times.append(_parse_cell(fields[it], "time", where, name, row, line))
            surv.append(_parse_cell(fields[isv], "survival", where, name, row, line))
            lines.append(line)
    if not times:
        raise CurveDataError(f"{name}: no data rows after the header", path=name)
    t = np.asarray(times, dtype=float)
    s = np.asarray(surv, dtype=float)
    problem = _table_problem(t, s)
    if problem is not None:
        i, msg = problem
        raise CurveDataError(f"{name}, data row {i + 1} (line {lines[i]}): {msg}",
                             path=name, row=i + 1, line=lines[i])
    try:
        return TableCurve(times=t, survival=s, source=name)
    except ValueError as exc:  # e.g. a lone point at time 0
        raise CurveDataError(f"{name}: {exc}", path=name) from None
