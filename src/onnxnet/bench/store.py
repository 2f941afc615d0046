"""The benchmark store: a folder of Parquet part files, one row per network, plus provenance and caches.

Layout (every file is written atomically; a half-written file never carries a final name)::

    STORE/
      meta.json                     format version, label provenance per space, build records
      networks/<space>-<plan>-<k>.parquet   one row per network (schema below), one file per finished chunk
      failures/<space>-<plan>-<k>.parquet   id, space, arch, stage, reason (one file per chunk, may be empty)
      plans/<plan>.json             the ordered architecture list of a build (what a resumed build continues)
      encodings/<name>-v<version>-<parts>/<k>.parquet   id, text, n_chars: cached text encodings

Every part file has the same Arrow schema (``network_schema()``): the core columns of docs/architecture.md and
one ``label:<name>`` column for every label onnxnet knows, so pandas, pyarrow, DuckDB and Hugging Face
``datasets`` read ``networks/*.parquet`` as one table. Reading is strict: an unreadable part, a duplicated id or
a broken ``meta.json`` raises ``DataError`` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from onnxnet import atomic
from onnxnet.bench.provenance import LABELS, PRIMARY, PRIMARY_NOTE, labels_for
from onnxnet.encode import ENCODINGS, encode as encode_model
from onnxnet.errors import DataError, OnnxNetError

FORMAT = "onnxnet-bench"
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
#: Split by graph hash: bucket = sha256(graph_hash) mod 10; 0-7 train, 8 val, 9 test.
SPLIT_BUCKETS = {**{b: "train" for b in range(8)}, 8: "val", 9: "test"}

CORE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()),
    ("space", pa.string()),
    ("arch", pa.string()),
    ("arch_hash", pa.string()),
    ("graph_hash", pa.string()),
    ("onnx", pa.binary()),
    ("n_params", pa.int64()),
    ("flops", pa.int64()),
    ("n_nodes", pa.int64()),
    ("macs", pa.int64()),
    ("depth", pa.int64()),
    ("split", pa.string()),
    ("accuracy", pa.float64()),
    ("accuracy_label", pa.string()),
]
FAILURE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()), ("space", pa.string()), ("arch", pa.string()), ("stage", pa.string()),
    ("reason", pa.string()),
]
ENCODING_COLUMNS: list[tuple[str, pa.DataType]] = [("id", pa.string()), ("text", pa.string()),
                                                   ("n_chars", pa.int64())]


def label_columns() -> list[str]:
    """Every ``label:<name>`` column, in a fixed order (union over all spaces' labels)."""
    seen: dict[str, None] = {}
    for (_, name) in LABELS:
        seen.setdefault(f"label:{name}", None)
    return list(seen)


def network_schema() -> pa.Schema:
    """The Arrow schema of every ``networks/`` part file, with label provenance in its metadata."""
    fields = [pa.field(n, t) for n, t in CORE_COLUMNS] + [pa.field(c, pa.float64()) for c in label_columns()]
    meta = {"onnxnet": json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "primary": PRIMARY,
                                   "labels": [i.as_dict() for i in LABELS.values()]}, default=str)}
    return pa.schema(fields, metadata=meta)


def failure_schema() -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in FAILURE_COLUMNS])


def split_of(graph_hash: str) -> str:
    """Deterministic train/val/test (80/10/10) from the graph hash: isomorphic duplicates share a split."""
    bucket = int(hashlib.sha256(graph_hash.encode()).hexdigest()[:8], 16) % 10
    return SPLIT_BUCKETS[bucket]


def parts_key(parts: Sequence[str] | None) -> str:
    """Folder-safe key of an encoding's ``parts`` selection (``all`` for the full encoding)."""
    if not parts:
        return "all"
    return "+".join(sorted(str(p) for p in parts))


def _frame_to_table(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    cols = {}
    for f in schema:
        if f.name in df.columns:
            s = df[f.name]
            if pa.types.is_floating(f.type):
                s = pd.to_numeric(s, errors="coerce").astype("float64")
            cols[f.name] = pa.array(s.tolist() if pa.types.is_binary(f.type) else s, type=f.type, from_pandas=True)
        else:
            cols[f.name] = pa.nulls(len(df), type=f.type)
    extra = [c for c in df.columns if c not in schema.names]
    if extra:
        raise DataError(f"columns {extra} are not in the store schema; label columns must be registered in "
                        "onnxnet.bench.provenance")
    return pa.table(cols, schema=schema)


class BenchStore:
    """A benchmark store folder. ``BenchStore(path)`` opens one; ``BenchStore.create(path)`` makes or opens one."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not (self.path / "meta.json").is_file():
            raise DataError(f"{self.path} is not an onnxnet benchmark store (no meta.json); build one with "
                            "`onnxnet bench build --out DIR` or import one with `onnxnet bench import`")
        self.meta = self._read_meta()

    # ------------------------------------------------------------------------------------------- create / meta
    @classmethod
    def create(cls, path: str | os.PathLike[str]) -> "BenchStore":
        """Open the store at ``path``, creating an empty one if the folder has no ``meta.json``."""
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise DataError(f"{p} exists and is not a folder; choose another --out")
        if not (p / "meta.json").is_file():
            if p.is_dir() and any(x for x in p.iterdir() if not x.name.startswith(".")):
                raise DataError(f"{p} is a non-empty folder without meta.json; refusing to turn it into a store. "
                                "Choose an empty or new --out folder")
            for sub in ("networks", "failures", "plans", "encodings"):
                (p / sub).mkdir(parents=True, exist_ok=True)
            atomic.write_json(p / "meta.json", {"format": FORMAT, "version": FORMAT_VERSION, "spaces": {},
                                                "builds": {}, "imports": []})
        return cls(p)

    def _read_meta(self) -> dict[str, Any]:
        f = self.path / "meta.json"
        try:
            meta = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"store metadata {f} is corrupted ({e}); restore it or rebuild the store") from e
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise DataError(f"{f} is not onnxnet benchmark-store metadata (format {meta.get('format')!r})"
                            if isinstance(meta, dict) else f"{f} is corrupted (not a JSON object)")
        if int(meta.get("version", 0)) > FORMAT_VERSION:
            raise DataError(f"{f} has store format version {meta['version']}, newer than this onnxnet "
                            f"({FORMAT_VERSION}); upgrade onnxnet")
        return meta

    def reload_meta(self) -> dict[str, Any]:
        self.meta = self._read_meta()
        return self.meta

    def update_meta(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``change`` to the freshly read ``meta.json`` and write it back, under an exclusive file lock.

        Several builds (e.g. two spaces at once) may share one store: each metadata update is a locked
        read-modify-write, and part files never collide (their names carry space and plan).
        """
        import fcntl

        with open(self.path / ".meta.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                meta = self._read_meta()
                change(meta)
                atomic.write_json(self.path / "meta.json", meta)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self.meta = meta
        return meta

    def record_space(self, space: str, extra: dict[str, Any] | None = None) -> None:
        """Record the label provenance and primary label of ``space`` in ``meta.json``."""

        def change(meta: dict[str, Any]) -> None:
            entry = meta.setdefault("spaces", {}).setdefault(space, {})
            entry.update(primary_label=PRIMARY.get(space), primary_note=PRIMARY_NOTE.get(space),
                         labels={i.name: i.as_dict() for i in labels_for(space)})
            if extra:
                entry.update(extra)

        self.update_meta(change)

    # ------------------------------------------------------------------------------------------------ files
    def part_files(self, kind: str = "networks") -> list[Path]:
        d = self.path / kind
        return sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".")) if d.is_dir() else []

    def write_part(self, name: str, rows: pd.DataFrame, failures: pd.DataFrame | None = None) -> None:
        """Commit one chunk: its failures first, then its rows (the rows file marks the chunk done)."""
        fail = failures if failures is not None else pd.DataFrame(columns=[c for c, _ in FAILURE_COLUMNS])
        ftable = _frame_to_table(fail, failure_schema())
        table = _frame_to_table(rows, network_schema())
        atomic.write_with(self.path / "failures" / f"{name}.parquet",
                          lambda t: pq.write_table(ftable, t, compression="zstd"))
        atomic.write_with(self.path / "networks" / f"{name}.parquet",
                          lambda t: pq.write_table(table, t, compression="zstd", row_group_size=256))

    def has_part(self, name: str) -> bool:
        return (self.path / "networks" / f"{name}.parquet").is_file()

    def _read_file(self, f: Path, columns: Sequence[str] | None = None) -> pa.Table:
        try:
            return pq.read_table(f, columns=list(columns) if columns is not None else None)
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
            raise DataError(f"store part {f} is corrupted or unreadable ({e}); delete that file and rerun the "
                            "build to regenerate its chunk") from e

    # ------------------------------------------------------------------------------------------------ reads
    def read(self, spaces: Iterable[str] | None = None, columns: Sequence[str] | None = None,
             drop_empty_labels: bool = True) -> pd.DataFrame:
        """All networks (optionally of some ``spaces`` / only some ``columns``) as a DataFrame sorted by id.

        With ``drop_empty_labels`` (default) ``label:*`` columns that are empty for every returned row are left
        out, so a NAS-Bench-101 read shows NAS-Bench-101's labels only.
        """
        want = set(spaces) if spaces is not None else None
        cols = list(columns) if columns is not None else None
        if cols is not None and want is not None and "space" not in cols:
            read_cols = cols + ["space"]
        else:
            read_cols = cols
        schema = network_schema()
        if read_cols is not None:
            bad = [c for c in read_cols if c not in schema.names]
            if bad:
                raise DataError(f"unknown store column(s) {bad}; columns are: {', '.join(schema.names)}")
        tables = []
        for f in self.part_files():
            if want is not None and not any(f.name.startswith(f"{s}-") for s in want):
                continue
            t = self._read_file(f, read_cols)
            if want is not None:
                t = t.filter(pc.is_in(t["space"], value_set=pa.array(sorted(want))))
            tables.append(t)
        if not tables:
            empty = schema.empty_table()
            df = empty.to_pandas() if read_cols is None else empty.select(read_cols).to_pandas()
        else:
            df = pa.concat_tables(tables, promote_options="default").to_pandas()
        if "id" in df.columns:
            dup = df["id"].duplicated()
            if dup.any():
                raise DataError(f"store {self.path} holds duplicated ids (e.g. {df['id'][dup].iloc[0]!r}); "
                                "it was modified outside onnxnet. Remove the extra part files")
            df = df.sort_values("id", kind="stable").reset_index(drop=True)
        if cols is not None and "space" not in cols and "space" in df.columns:
            df = df.drop(columns=["space"])
        if drop_empty_labels and columns is None:
            empty_cols = [c for c in df.columns if c.startswith("label:") and df[c].isna().all()]
            df = df.drop(columns=empty_cols)
        return df

    def ids(self, space: str | None = None) -> set[str]:
        """The ids already stored (cheap: reads the ``id`` column only)."""
        out: set[str] = set()
        for f in self.part_files():
            if space is None or f.name.startswith(f"{space}-"):
                out.update(self._read_file(f, ["id"]).column("id").to_pylist())
        return out

    def failures(self) -> pd.DataFrame:
        """Every recorded failure (id, space, arch, stage, reason)."""
        tables = [self._read_file(f) for f in self.part_files("failures")]
        if not tables:
            return failure_schema().empty_table().to_pandas()
        return pa.concat_tables(tables).to_pandas().sort_values("id", kind="stable").reset_index(drop=True)

    def __len__(self) -> int:
        n = 0
        for f in self.part_files():
            try:
                n += pq.ParquetFile(f).metadata.num_rows
            except (pa.ArrowInvalid, OSError) as e:
                raise DataError(f"store part {f} is corrupted ({e}); delete it and rerun the build") from e
        return n

    def onnx(self, id: str) -> Any:
        """The stored ``onnx.ModelProto`` of network ``id``."""
        import onnx

        for f in self.part_files():
            t = self._read_file(f, ["id", "onnx"])
            hit = t.filter(pc.equal(t["id"], id))
            if hit.num_rows:
                return onnx.load_from_string(hit.column("onnx")[0].as_py())
        raise DataError(f"no network with id {id!r} in {self.path}")

    def validate(self) -> dict[str, int]:
        """Read every part, check the schema and id uniqueness; returns counts. Raises ``DataError`` otherwise."""
        schema = network_schema()
        ids: set[str] = set()
        n = 0
        for f in self.part_files():
            t = self._read_file(f, ["id"])
            try:
                got = pq.read_schema(f)
            except (pa.ArrowInvalid, OSError) as e:
                raise DataError(f"store part {f} is corrupted ({e})") from e
            missing = [c for c in schema.names if c not in got.names]
            if missing:
                raise DataError(f"store part {f} lacks columns {missing[:5]}; it was not written by onnxnet")
            part_ids = t.column("id").to_pylist()
            dup = ids.intersection(part_ids)
            if dup or len(set(part_ids)) != len(part_ids):
                raise DataError(f"store part {f} repeats ids already stored (e.g. {sorted(dup)[:1]})")
            ids.update(part_ids)
            n += len(part_ids)
        return {"networks": n, "parts": len(self.part_files()), "failures": len(self.failures())}

    # -------------------------------------------------------------------------------------------- encodings
    def encoding_dir(self, encoding: str, version: int | str, parts: Sequence[str] | None) -> Path:
        return self.path / "encodings" / f"{encoding}-v{version}-{parts_key(parts)}"

    def encodings(self, encoding: str = "compact", parts: Sequence[str] | None = None,
                  version: int | str | None = None) -> pd.DataFrame:
        """Cached texts (id, text, n_chars) for ``(encoding, version, parts)``; the current version by default."""
        if version is None:
            version = _encoding_version(encoding)
        d = self.encoding_dir(encoding, version, parts)
        files = sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".")) if d.is_dir() else []
        if not files:
            return pa.schema([pa.field(n, t) for n, t in ENCODING_COLUMNS]).empty_table().to_pandas()
        df = pa.concat_tables([self._read_file(f) for f in files]).to_pandas()
        return df.drop_duplicates("id", keep="last").sort_values("id").reset_index(drop=True)

    def add_encodings(self, encoding: str, version: int | str, parts: Sequence[str] | None,
                      texts: pd.DataFrame) -> Path:
        """Append a part of cached texts (columns id, text) atomically; returns the file written."""
        d = self.encoding_dir(encoding, version, parts)
        df = texts[["id", "text"]].copy()
        df["n_chars"] = df["text"].str.len().astype("int64")
        table = pa.Table.from_pandas(df, schema=pa.schema([pa.field(n, t) for n, t in ENCODING_COLUMNS]),
                                     preserve_index=False)
        k = len(list(d.glob("*.parquet"))) if d.is_dir() else 0
        digest = hashlib.sha256("\n".join(df["id"]).encode()).hexdigest()[:8]
        target = d / f"{k:05d}-{digest}.parquet"
        atomic.write_with(target, lambda t: pq.write_table(table, t, compression="zstd"))
        return target

    def encode(self, encoding: str = "compact", parts: Sequence[str] | None = None,
               spaces: Iterable[str] | None = None, progress: bool = True, chunk: int = 500,
               ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Encode every stored network (of ``spaces`` / ``ids``) not yet cached for ``(encoding, version, parts)``.

        Returns the texts of the selected networks (id, text, n_chars); new texts are cached atomically.
        """
        import onnx

        version = _encoding_version(encoding)
        have = set(self.encodings(encoding, parts, version)["id"])
        rows = self.read(spaces=spaces, columns=["id", "onnx"])
        if ids is not None:
            rows = rows[rows["id"].isin(set(ids))]
        todo = rows[~rows["id"].isin(have)]
        if len(todo):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"encode {encoding}", disable=not progress, unit="net")
            failed: list[tuple[str, str]] = []
            for start in range(0, len(todo), chunk):
                part = todo.iloc[start:start + chunk]
                ok_ids, texts = [], []
                for nid, b in zip(part["id"], part["onnx"]):
                    try:
                        texts.append(encode_model(onnx.load_from_string(b), encoding=encoding, parts=parts))
                        ok_ids.append(nid)
                    except OnnxNetError as e:  # one bad graph must not stop a 15k-network encode
                        failed.append((nid, str(e)))
                if ok_ids:
                    self.add_encodings(encoding, version, parts, pd.DataFrame({"id": ok_ids, "text": texts}))
                bar.update(len(part))
            bar.close()
            if failed:
                import warnings

                warnings.warn(f"{len(failed)} networks could not be encoded with {encoding!r} and are left out "
                              f"(first: {failed[0][0]}: {failed[0][1][:200]})", stacklevel=2)
        out = self.encodings(encoding, parts, version)
        if spaces is not None or ids is not None:
            out = out[out["id"].isin(set(rows["id"]))].reset_index(drop=True)
        return out


def _encoding_version(encoding: str) -> int | str:
    cls = ENCODINGS.get(encoding)
    return getattr(cls, "version", 1)


def empty_rows() -> pd.DataFrame:
    """An empty DataFrame with the network columns (for chunks in which every network failed)."""
    return network_schema().empty_table().to_pandas()


def as_float(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v if np.isfinite(v) else float("nan")
