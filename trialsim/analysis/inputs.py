"""The padded ``(R, n)`` inputs every time-to-event kernel takes, converted
once: dtypes fixed, arrays broadcast against each other, one replicate made
2-D.  The kernels share this so that they agree on what a valid input is."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class _Inputs(NamedTuple):
    time: np.ndarray
    event: np.ndarray
    group: np.ndarray
    valid: np.ndarray | None
    strata: np.ndarray | None


def _prepare(time, event, group, valid, strata=None) -> _Inputs:
    """Convert to arrays of the right dtypes, broadcast, make 2-D."""
    arrays = [
        np.asarray(time, dtype=np.float64),
        np.asarray(event, dtype=bool),
        np.asarray(group, dtype=bool),
    ]
    if valid is not None:
        arrays.append(np.asarray(valid, dtype=bool))
    if strata is not None:
        s = np.asarray(strata)
        if s.dtype.kind not in "iub":
            raise ValueError(f"strata must be an integer array (stratum codes), got dtype {s.dtype}")
        arrays.append(s.astype(np.int64, copy=False))
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"time, event, group, valid, strata shapes do not broadcast: {shapes}") from exc
    ndim = arrays[0].ndim
    if ndim not in (1, 2):
        raise ValueError(f"inputs must be 1-D or 2-D (replicates x patients), got {ndim}-D")
    if ndim == 1:
        arrays = [a[np.newaxis, :] for a in arrays]
    out_valid = arrays[3] if valid is not None else None
    out_strata = arrays[-1] if strata is not None else None
    return _Inputs(arrays[0], arrays[1], arrays[2], out_valid, out_strata)
