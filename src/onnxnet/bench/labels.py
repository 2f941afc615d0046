"""Loaders for the published label tables in the data folder, joined on each space's canonical arch string.

``load_labels("nb201")`` reads every table of a space, parses each published key with the space's own
``parse`` (cell strings, NASLib op-index tuples, NB101 adjacency keys, DARTS genotypes, ...), and returns one
frame indexed by ``to_string(parse(key))``, so labels from different files join on the same architecture.
Rows whose key does not parse, duplicates, and disagreements between files are *reported* in
``LabelTable.unjoined`` / ``LabelTable.conflicts``, never dropped silently. Nothing is ever unpickled.
"""

from __future__ import annotations

import ast
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable

import numpy as np
import pandas as pd

from onnxnet.bench.provenance import (
    NASLIB_ZC,
    PRIMARY,
    TB101_TASKS,
    ZC_PROXIES,
    LabelInfo,
    labels_for,
)
from onnxnet.config import data_dir
from onnxnet.errors import ArchitectureError, DataError, OnnxNetError
from onnxnet.spaces import get_space

#: NAS-Bench-101 op names in the nasbench ``ModelSpec`` convention.
NB101_OPS = {"input": "input", "output": "output", "conv3x3": "conv3x3-bn-relu", "conv1x1": "conv1x1-bn-relu",
             "maxpool": "maxpool3x3"}
#: EC-NAS-Bench op ids -> NB101 op names.
ECNAS_OPS = {-1: "input", -2: "output", 0: "conv3x3-bn-relu", 1: "conv1x1-bn-relu", 2: "maxpool3x3"}


@dataclass
class Piece:
    """Label columns read from one file, keyed by the file's own published architecture keys."""

    file: str
    keys: list[Any]
    values: pd.DataFrame  # one row per key, columns are label names
    index_hint: list[int] | None = None  # the file's own arch index per row, when it has one


@dataclass
class LabelTable:
    """All labels of one space, joined on the canonical arch string."""

    space: str
    frame: pd.DataFrame  # index ``arch`` (canonical string), columns = label names, float64
    unjoined: pd.DataFrame  # file, key, reason: rows that could not be placed
    conflicts: pd.DataFrame  # label, arch, kept, other, files: the same label disagreeing between files
    infos: list[LabelInfo]
    primary: str | None
    parsed: dict[str, Hashable] = field(default_factory=dict, repr=False)  # canonical string -> arch
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A short human-readable account: rows, coverage per label, and what did not join."""
        lines = [f"{self.space}: {len(self.frame)} labelled architectures, primary label {self.primary!r}"]
        for col in self.frame.columns:
            lines.append(f"  {col}: {int(self.frame[col].notna().sum())}")
        if len(self.unjoined):
            kind = self.unjoined["reason"].str.split(":").str[0]
            by = self.unjoined.assign(kind=kind).groupby(["file", "kind"]).size()
            for (f, r), n in by.items():
                lines.append(f"  not joined: {n} rows of {f}: {r}")
        if len(self.conflicts):
            lines.append(f"  conflicts between files: {len(self.conflicts)} values (kept the first file's)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- file readers

def _path(root: Path, rel: str) -> Path:
    p = root / rel
    if not p.is_file():
        raise DataError(f"label table {p} is missing; point --data / ONNXNET_DATA at the folder holding {rel}")
    return p


def _csv(root: Path, rel: str, need: Iterable[str]) -> pd.DataFrame:
    p = _path(root, rel)
    try:
        df = pd.read_csv(p)
    except Exception as e:  # pandas raises many types on malformed files
        raise DataError(f"cannot read label table {p}: {e}; the file is malformed, restore it from its source") from e
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"label table {p} lacks column(s) {missing}; found {list(df.columns)}")
    return df


def _json(root: Path, rel: str) -> Any:
    p = _path(root, rel)
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read label table {p}: {e}; the file is malformed, restore it from its source") from e


def _naslib_zc(root: Path, rel: str, top: str, datasets: dict[str, str]) -> list[Piece]:
    """NASLib ``zc_<space>.json``: ``{space: {dataset: {key: {proxy..., val_accuracy}}}}``."""
    blob = _json(root, rel)
    if top not in blob:
        raise DataError(f"{root / rel}: expected top-level key {top!r}, found {list(blob)[:5]}")
    pieces = []
    for ds, (acc_name, zc_prefix) in datasets.items():  # type: ignore[misc]
        rows = blob[top].get(ds)
        if rows is None:
            raise DataError(f"{root / rel}: dataset {ds!r} missing under {top!r}; found {list(blob[top])}")
        keys = list(rows)
        cols: dict[str, list[float]] = {acc_name: [float(rows[k].get("val_accuracy", np.nan)) for k in keys]}
        for p in NASLIB_ZC:
            cols[f"{zc_prefix}{p}"] = [float(rows[k].get(p, np.nan)) for k in keys]
        pieces.append(Piece(rel, keys, pd.DataFrame(cols)))
    return pieces


# --------------------------------------------------------------------------------------------- per-space tables

def _nb201_pieces(root: Path) -> list[Piece]:
    pieces: list[Piece] = []
    f = "nb201/nb201_cifar10_200ep_test.csv"
    df = _csv(root, f, ["ArchitectureString", "CIFAR10TestAccuracy200Epochs"])
    pieces.append(Piece(f, df["ArchitectureString"].tolist(), pd.DataFrame({
        "cifar10_test_200ep": df["CIFAR10TestAccuracy200Epochs"].astype(float),
        "cifar100_test_200ep": df["CIFAR100TestAccuracy200Epochs"].astype(float),
        "imagenet16_test_200ep": df["ImageNetTestAccuracy200Epochs"].astype(float),
    }), index_hint=list(range(len(df)))))
    f = "nb201/nb201_12ep.csv"
    df = _csv(root, f, ["arch", "cellstr"])
    cols = {}
    for ds, short in [("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet", "imagenet16")]:
        for split, src in [("test", "test"), ("val", "val")]:
            cols[f"{short}_{split}_12ep"] = df[f"{ds}-{src}"].astype(float)
    pieces.append(Piece(f, df["cellstr"].tolist(), pd.DataFrame(cols), index_hint=df["arch"].astype(int).tolist()))
    f = "nb201/nb201_unique_val_accs.csv"
    df = _csv(root, f, ["net", "val_accs"])
    pieces.append(Piece(f, df["net"].tolist(), pd.DataFrame({"cifar10_val_200ep": df["val_accs"].astype(float)})))
    f = "nb201/nb201_unique_nets.csv"
    df = _csv(root, f, ["net", "net_str", "val_accs"])
    pieces.append(Piece(f, df["net_str"].tolist(), pd.DataFrame({"cifar10_val_200ep": df["val_accs"].astype(float)})))
    f = "nb201/nb201_hw_cifar10.csv"
    df = _csv(root, f, ["net"])
    hw = [c for c in df.columns if c != "net"]
    pieces.append(Piece(f, df["net"].tolist(), pd.DataFrame({f"hw_{c}": df[c].astype(float) for c in hw})))
    f = "nb201/nb201_zc_proxies.csv"
    df = _csv(root, f, ["net", *ZC_PROXIES])
    pieces.append(Piece(f, df["net"].tolist(), pd.DataFrame({f"zc_{p}": df[p].astype(float) for p in ZC_PROXIES})))
    pieces += _naslib_zc(root, "nb201/naslib_zc_nasbench201.json", "nasbench201", {
        "cifar10": ("cifar10_val_200ep", "zc491_cifar10_"),
        "cifar100": ("cifar100_val_200ep", "zc491_cifar100_"),
        "ImageNet16-120": ("imagenet16_val_200ep", "zc491_imagenet16_"),
    })
    return pieces


def _nb101_pieces(root: Path) -> list[Piece]:
    pieces = _naslib_zc(root, "nb101/naslib_zc_nasbench101.json", "nasbench101",
                        {"cifar10": ("cifar10_val_108ep", "zc_")})
    f = "nb101/ecnas_nb101_4ep.csv"
    df = _csv(root, f, ["matrix", "ops", "mean_test_acc", "mean_val_acc", "mean_train_acc", "n_repeats"])
    # The same cell appears in EC-NAS's 4V and 5V sub-benchmarks; keep the run averaged over more repeats first.
    df = df.sort_values("n_repeats", ascending=False, kind="stable")
    keys = []
    for m, o in zip(df["matrix"], df["ops"]):
        try:
            ops = [ECNAS_OPS[int(i)] for i in ast.literal_eval(o)]
            keys.append({"matrix": ast.literal_eval(m), "ops": ops})
        except (ValueError, SyntaxError, KeyError):
            keys.append(f"matrix={m} ops={o}")  # fails to parse later and is reported
    pieces.append(Piece(f, keys, pd.DataFrame({
        "cifar10_test_4ep": df["mean_test_acc"].astype(float).to_numpy() * 100.0,
        "cifar10_val_4ep": df["mean_val_acc"].astype(float).to_numpy() * 100.0,
        "cifar10_train_4ep": df["mean_train_acc"].astype(float).to_numpy() * 100.0,
        "ecnas_energy_4ep": df["mean_energy_kwh"].astype(float).to_numpy(),
        "ecnas_time_4ep": df["mean_total_time_s"].astype(float).to_numpy(),
    })))
    return pieces


def _nb301_pieces(root: Path) -> list[Piece]:
    return _naslib_zc(root, "nb301/naslib_zc_nasbench301.json", "nasbench301",
                      {"cifar10": ("cifar10_val_100ep", "zc_")})


def _transnas_pieces(root: Path) -> list[Piece]:
    rel = "transnas_micro/naslib_transnas_micro_zen.zip"
    p = _path(root, rel)
    per_task: dict[str, dict[str, tuple[float, float]]] = {t: {} for t in TB101_TASKS}
    try:
        with zipfile.ZipFile(p) as z:
            for name in sorted(z.namelist()):
                if not name.endswith(".json"):
                    continue
                parts = Path(name).stem.split("--")
                task = parts[2] if len(parts) >= 4 else ""
                if task not in per_task:
                    raise DataError(f"{p}: member {name} names unknown task {task!r}; expected {list(TB101_TASKS)}")
                for row in json.loads(z.read(name)):
                    zen = row.get("zen", {})
                    per_task[task][row["arch"]] = (float(row["val_accuracy"]),
                                                   float(zen.get("score", np.nan)) if isinstance(zen, dict) else np.nan)
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError) as e:
        raise DataError(f"cannot read {p}: {e}; the archive is malformed, restore it from its source") from e
    pieces = []
    for task, rows in per_task.items():
        keys = list(rows)
        pieces.append(Piece(f"{rel}:{task}", keys, pd.DataFrame({
            f"tb101_{task}_val": [rows[k][0] for k in keys],
            f"zc_zen_{task}": [rows[k][1] for k in keys],
        })))
    return pieces


#: Space name -> reader of its label files.
LABEL_READERS: dict[str, Callable[[Path], list[Piece]]] = {
    "nb201": _nb201_pieces,
    "nb101": _nb101_pieces,
    "nb301": _nb301_pieces,
    "transnas_micro": _transnas_pieces,
}

#: Unlabelled architecture lists in the data folder (for ``--archs``-style builds).
ARCH_LISTS: dict[str, str] = {
    "nb201": "nb201/naslib_archs_nasbench201.json",
    "nb101": "nb101/naslib_samples_nasbench101.json",
    "nb301": "nb301/naslib_archs_nasbench301.json",
}


# ------------------------------------------------------------------------------------------------------ joining

def _key_repr(key: Any) -> str:
    if isinstance(key, dict):
        return json.dumps(key, separators=(",", ":"))
    return str(key)


_CACHE: dict[tuple[str, str, tuple[tuple[str, float, int], ...]], LabelTable] = {}


def load_labels(space: str, data: str | os.PathLike[str] | None = None) -> LabelTable:
    """Every published label of ``space`` from the data folder, joined on the canonical arch string.

    Raises ``DataError`` for missing or malformed files and ``UnknownNameError`` for an unknown space; rows that
    do not join are listed in ``LabelTable.unjoined`` (file, key, reason), never silently dropped. Results are
    cached per process (keyed by the files' paths, sizes and mtimes); treat the returned table as read-only.
    """
    sp = get_space(space)  # UnknownNameError for bad names
    name = sp.name
    if name in LABEL_READERS:
        root = data_dir(data)
        stamp = tuple((str(p), p.stat().st_mtime, p.stat().st_size)
                      for p in sorted((root / _FOLDERS[name]).glob("*")) if p.is_file())
        key = (name, str(root), stamp)
        if key not in _CACHE:
            _CACHE[key] = _load_labels(sp, data)
        return _CACHE[key]
    return _load_labels(sp, data)


#: Folder of each space's label files inside the data folder.
_FOLDERS = {"nb201": "nb201", "nb101": "nb101", "nb301": "nb301", "transnas_micro": "transnas_micro"}


def _load_labels(sp: Any, data: str | os.PathLike[str] | None) -> LabelTable:
    name = sp.name
    infos = labels_for(name)
    if name not in LABEL_READERS:
        empty = pd.DataFrame(index=pd.Index([], name="arch"))
        return LabelTable(name, empty, _empty_unjoined(), _empty_conflicts(), infos, None,
                          notes=[f"no published labels for {name!r} in the data folder"])
    root = data_dir(data)
    pieces = LABEL_READERS[name](root)
    known = {i.name for i in infos}
    unjoined: list[tuple[str, str, str]] = []
    conflicts: list[tuple[str, str, float, float, str]] = []
    notes: list[str] = []
    parsed: dict[str, Hashable] = {}
    cache: dict[str, str | ArchitectureError] = {}
    frame = pd.DataFrame(index=pd.Index([], name="arch"), dtype=float)
    origin: dict[str, str] = {}  # label -> first file that provided it

    for piece in pieces:
        stray = [c for c in piece.values.columns if c not in known]
        if stray:
            raise DataError(f"internal: labels {stray} read from {piece.file} have no provenance entry")
        archs, raw = _join_keys(sp, piece, cache, parsed, unjoined)
        vals = piece.values.copy()
        vals.index = pd.Index(archs, name="arch")
        ok = vals.index.notna()
        vals, raw_ok = vals[ok], [r for r, k in zip(raw, ok) if k]
        dup = vals.index.duplicated(keep="first")
        if dup.any():
            for r, a in zip(np.asarray(raw_ok, dtype=object)[dup], vals.index[dup]):
                unjoined.append((piece.file, r, f"duplicate: same architecture as an earlier row ({a}); kept the "
                                                "first row"))
            vals = vals[~dup]
        if piece.index_hint is not None and hasattr(sp, "index_of"):
            bad = [(i, a) for i, a in zip(piece.index_hint, archs) if a is not None and sp.index_of(parsed[a]) != i]
            if bad:
                notes.append(f"{piece.file}: {len(bad)} rows whose arch index disagrees with the space's index order "
                             f"(first: row index {bad[0][0]} is {bad[0][1]})")
        frame = _merge_piece(frame, vals, piece.file, origin, conflicts)
    frame = frame.astype(float).sort_index()
    ordered = [i.name for i in infos if i.name in frame.columns]
    frame = frame[ordered]
    return LabelTable(
        name, frame,
        pd.DataFrame(unjoined, columns=["file", "key", "reason"]) if unjoined else _empty_unjoined(),
        pd.DataFrame(conflicts, columns=["label", "arch", "kept", "other", "files"]) if conflicts else _empty_conflicts(),
        infos, PRIMARY.get(name), parsed, notes,
    )


def _join_keys(sp: Any, piece: Any, cache: dict[str, str | ArchitectureError], parsed: dict[str, Hashable],
               unjoined: list[tuple[str, str, str]]) -> tuple[list[str | None], list[str]]:
    """The canonical string of each key of ``piece`` (``None`` where it does not parse, recorded in ``unjoined``)
    and the keys as written; ``cache`` and ``parsed`` are shared across the pieces of a space."""
    archs: list[str | None] = []
    raw: list[str] = []
    for key in piece.keys:
        rk = _key_repr(key)
        raw.append(rk)
        hit = cache.get(rk)
        if hit is None:
            try:
                a = sp.parse(key)
                hit = sp.to_string(a)
                parsed.setdefault(hit, a)
            except ArchitectureError as e:
                hit = e
            except OnnxNetError as e:
                hit = ArchitectureError(str(e))
            cache[rk] = hit
        if isinstance(hit, ArchitectureError):
            unjoined.append((piece.file, rk, f"key does not parse: {hit}"))
            archs.append(None)
        else:
            archs.append(hit)
    return archs, raw


def _merge_piece(frame: pd.DataFrame, vals: pd.DataFrame, file: str, origin: dict[str, str],
                 conflicts: list[tuple[str, str, float, float, str]]) -> pd.DataFrame:
    """``frame`` with the label columns of one file joined in: the first file's value is kept where two files
    disagree (recorded in ``conflicts``)."""
    frame = frame.reindex(frame.index.union(vals.index))
    for col in vals.columns:
        new = vals[col].reindex(frame.index)
        if col in frame.columns:
            old = frame[col]
            both = old.notna() & new.notna()
            diff = both & ~np.isclose(old.fillna(0).to_numpy(), new.fillna(0).to_numpy(), rtol=1e-6, atol=1e-9)
            for a in frame.index[diff]:
                conflicts.append((col, a, float(old[a]), float(new[a]), f"{origin[col]} vs {file}"))
            frame[col] = old.combine_first(new)
        else:
            frame[col] = new
            origin[col] = file
    return frame


def load_arch_list(space: str, data: str | os.PathLike[str] | None = None) -> list[str]:
    """The unlabelled architecture list shipped for ``space`` (canonical strings, file order, duplicates kept once)."""
    sp = get_space(space)
    rel = ARCH_LISTS.get(sp.name)
    if rel is None:
        raise DataError(f"no architecture list for space {sp.name!r} in the data folder; have: {sorted(ARCH_LISTS)}")
    blob = _json(data_dir(data), rel)
    seen: dict[str, None] = {}
    for k in sorted(blob, key=lambda s: int(s) if str(s).isdigit() else 0):
        seen.setdefault(sp.to_string(sp.parse(blob[k])), None)
    return list(seen)


def _empty_unjoined() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype=str), "key": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})


def _empty_conflicts() -> pd.DataFrame:
    return pd.DataFrame({"label": pd.Series(dtype=str), "arch": pd.Series(dtype=str),
                         "kept": pd.Series(dtype=float), "other": pd.Series(dtype=float),
                         "files": pd.Series(dtype=str)})
