"""Truth (and climatology) files opened lazily as one time series, read chunk by chunk.

``mindgencast evaluate --truth a.nc b.nc`` scores against the files as one series along
``time``; nothing is read until a score needs it. Reads go through :class:`_SeriesArray`,
which turns any requested set of times into one contiguous read per on-disk chunk: a
compressed NetCDF chunk (e.g. 910 times, the default chunking of some files written by
plain xarray) is then decompressed once per batch instead of once per requested time.
Memory of one read is bounded by one chunk of the selected fields.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from mindgencast.metrics.alignment import TIME_DIM

__all__ = ["open_series", "read_plan"]


def _open_one(path: str, what: str) -> xr.Dataset:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} file not found: {path}")
    if path.rstrip("/").endswith(".zarr"):
        return xr.open_zarr(path, decode_timedelta=True, chunks=None)
    return xr.open_dataset(path, decode_timedelta=True)


def _time_chunk(da: xr.DataArray) -> int:
    """Times per on-disk chunk of ``da`` (1 for contiguous storage: no read amplification)."""
    preferred = da.encoding.get("preferred_chunks", {}).get(TIME_DIM)
    if preferred:
        return int(preferred)
    sizes = da.encoding.get("chunksizes") or da.encoding.get("chunks")
    if sizes and not da.encoding.get("contiguous", False):
        return int(sizes[da.dims.index(TIME_DIM)])
    return 1


def read_plan(indices: np.ndarray, file_starts: np.ndarray, chunks) -> list[tuple[int, int, int]]:
    """Contiguous reads that cover ``indices`` touching each on-disk chunk once.

    Args:
      indices: sorted unique ``[n]`` time indices into the series.
      file_starts: ``[num_files + 1]`` first series index of each file (then the length).
      chunks: times per on-disk chunk of each file.

    Returns:
      ``(file, start, stop)`` reads in file-local indices; wanted times in the same file
      and chunk share one read (the chunk is decompressed once anyway).
    """
    reads = []
    files = np.searchsorted(file_starts, indices, side="right") - 1
    for f in np.unique(files):
        local = indices[files == f] - file_starts[f]
        block = local // max(int(chunks[f]), 1)
        if int(chunks[f]) <= 1:
            # Contiguous storage: merge only runs of consecutive times.
            block = np.concatenate([[0], np.cumsum(np.diff(local) != 1)])
        for b in np.unique(block):
            run = local[block == b]
            reads.append((int(f), int(run[0]), int(run[-1]) + 1))
    return reads


class _SeriesArray(BackendArray):
    """One variable of several files concatenated along ``time`` (axis ``time_axis``)."""

    def __init__(self, pieces: list[xr.DataArray], time_axis: int):
        self.pieces = pieces
        self.time_axis = time_axis
        lengths = [p.shape[time_axis] for p in pieces]
        self.file_starts = np.concatenate([[0], np.cumsum(lengths)])
        self.chunks = [_time_chunk(p) for p in pieces]
        shape = list(pieces[0].shape)
        shape[time_axis] = int(self.file_starts[-1])
        self.shape = tuple(shape)
        self.dtype = pieces[0].dtype

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)

    def _read(self, key: tuple) -> np.ndarray:
        time_key = key[self.time_axis]
        wanted = np.arange(self.shape[self.time_axis])[time_key]
        scalar = np.ndim(wanted) == 0
        wanted = np.atleast_1d(wanted)
        others = {d: k for d, k in zip(self.pieces[0].dims, key) if d != TIME_DIM}
        unique = np.unique(wanted)
        # Position of the time axis in the result: integer keys drop their dims.
        axis = sum(1 for k in key[: self.time_axis] if isinstance(k, slice) or np.ndim(k))
        if unique.size == 0:
            return np.asarray(self.pieces[0].isel({TIME_DIM: slice(0, 0), **others}).values)
        blocks, held = [], []
        for f, start, stop in read_plan(unique, self.file_starts, self.chunks):
            blocks.append(np.asarray(self.pieces[f].isel({TIME_DIM: slice(start, stop), **others}).values))
            held.append(np.arange(start, stop) + self.file_starts[f])
        data = np.concatenate(blocks, axis=axis)
        picked = np.take(data, np.searchsorted(np.concatenate(held), wanted), axis=axis)
        return np.take(picked, 0, axis=axis) if scalar else picked


def open_series(paths, what: str = "truth") -> xr.Dataset:
    """Files opened lazily as one dataset along ``time``; reads are chunk-aware.

    Args:
      paths: one path or several (NetCDF files or ``.zarr`` stores) in WeatherBench2
        layout, e.g. a training year and a test period; given in any order.
      what: how errors name these files ("truth", "climatology").

    Returns:
      Lazy dataset ``[time, [level,] lat, lon]`` with sorted times; fields without a
      ``time`` dim (static fields) come from the first file. ``attrs["source_files"]``
      lists the file names.

    Raises:
      FileNotFoundError naming a missing file; ValueError if the files repeat times, or
      a time-dependent variable or a coordinate differs between files.
    """
    paths = [str(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise ValueError(f"no {what} files given")
    opened = [_open_one(p, what) for p in paths]
    for path, ds in zip(paths, opened):
        if TIME_DIM not in ds.dims:
            raise ValueError(
                f"the {what} file {path} has no 'time' dim (dims {dict(ds.sizes)}); expected WeatherBench2 layout"
            )
    order = np.argsort([ds[TIME_DIM].values[0] for ds in opened], kind="stable")
    paths, opened = [paths[i] for i in order], [opened[i] for i in order]
    times = np.concatenate([ds[TIME_DIM].values for ds in opened])
    if np.any(np.diff(times) <= np.timedelta64(0)):
        bad = int(np.argmax(np.diff(times) <= np.timedelta64(0)))
        raise ValueError(
            f"the {what} files {', '.join(paths)} repeat or interleave times (at {pd.Timestamp(times[bad + 1])}); "
            "give files with disjoint, sorted time ranges"
        )
    first = opened[0]
    timed = [v for v, da in first.data_vars.items() if TIME_DIM in da.dims]
    for path, ds in zip(paths[1:], opened[1:]):
        missing = [v for v in timed if v not in ds.data_vars]
        if missing:
            raise ValueError(f"the {what} file {path} lacks variables {', '.join(missing)} of {paths[0]}")
        for name, coord in first.coords.items():
            if TIME_DIM in coord.dims or name not in ds.coords:
                continue
            if coord.shape != ds[name].shape or not np.array_equal(coord.values, ds[name].values):
                raise ValueError(f"coordinate {name!r} of the {what} file {path} differs from {paths[0]}'s")
    variables = {}
    for v in first.data_vars:
        da = first[v]
        if TIME_DIM not in da.dims:
            variables[v] = da
            continue
        pieces = [ds[v].transpose(*da.dims) for ds in opened]
        array = _SeriesArray(pieces, da.dims.index(TIME_DIM))
        variables[v] = xr.Variable(da.dims, indexing.LazilyIndexedArray(array), attrs=da.attrs)
    coords = {k: c for k, c in first.coords.items() if TIME_DIM not in c.dims}
    coords[TIME_DIM] = xr.Variable(TIME_DIM, times, attrs=first[TIME_DIM].attrs)
    out = xr.Dataset(variables, coords=coords, attrs=dict(first.attrs))
    out.attrs["source_files"] = ", ".join(os.path.basename(p.rstrip("/")) for p in paths)
    return out
