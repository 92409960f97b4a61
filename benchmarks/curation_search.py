"""Search on a clip index: exact top-10 against faiss IndexFlatIP, and each ANN index's recall and speed.

    python benchmarks/curation_search.py [--rows 1000000] [--dim 256] [--corpus mixture|tight|uniform]
        [--variants auto ivf_flat:nprobes=32 ivf_pq:nprobes=32:refine=50 ...] [--record benchmarks/results/curation.md]

Exact search is the index's own (LanceDB without an ANN index: a scan, never an N x queries score matrix
in memory); its top-10 is checked against faiss ``IndexFlatIP`` in the same run, and each ANN variant's
recall@10 is measured against it. ``auto`` is whatever ``IndexConfig()`` (``index.ann: auto``) builds and
searches with its default ``index.nprobes`` / ``index.refine_factor``. Times are the best of 3 runs;
"exact/ANN" is the exact time divided by the ANN time on the same queries. Two query modes: ``--single``
queries searched one call each (the ms column is per query) and ``--batch`` queries in one call (ms for
the whole call).

Corpora (unit vectors; queries are held-out draws from the same distribution, never corpus rows):

* ``mixture`` (the default): a Gaussian mixture of rows/500 clusters with Zipf(1) sizes (a few dominant
  scene types, a long tail); each cluster spreads over its own random 24-dimensional subspace with a
  decaying spectrum (total standard deviation 0.6 around a unit centre) plus isotropic noise of 0.08.
  Its local intrinsic dimensionality (MLE over 20 neighbours, printed) is ~16, in the 10-25 range of
  learned image/text embedding sets in the ANN literature, and the 10th and 11th neighbours of a query
  are ~1e-3 apart in cosine similarity, so recall@10 measures ordering rather than coin flips on ties.
* ``tight``: the corpus of the first measurement, 2,000 centres plus isotropic noise of 0.35 per
  dimension: inside a cluster the noise fills all 256 dimensions, every member is nearly equidistant
  from a query (local intrinsic dimensionality ~60 at 1M; neighbours 10 to 100 within 0.02, 10th and
  11th ~4e-4 apart), which is the distance-concentration worst case rather than embeddings of videos.
* ``uniform``: uniform on the sphere, the worst case of any IVF index (no structure to exploit).

Recall is reported strictly (share of the exact top-10 ids found) and with ann-benchmarks' tolerance
(a hit counts when its exact score is within 1e-3 of the 10th exact score), which shows how much of a
shortfall is ties.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time

import numpy as np
from recording import append_record, machine

TIE_EPS = 1e-3
DEFAULT_VARIANTS = [
    "auto",
    "ivf_pq:nprobes=32:refine=10",
    "ivf_pq:nprobes=32:refine=50",
    "ivf_pq:nprobes=64:refine=100",
    "ivf_flat:nprobes=16",
    "ivf_flat:nprobes=32",
    "ivf_flat:nprobes=64",
]


MIXTURE_RANK = 24
"""The dimension of each mixture cluster's subspace (so the mixture corpus needs --dim of at least this)."""


def mixture(
    rows: int, dim: int, rng: np.random.Generator, rank: int = MIXTURE_RANK, spread: float = 0.6, noise: float = 0.08
):
    """Clustered unit vectors with a realistic neighbour structure (see the module docstring)."""
    k = max(1, rows // 500)
    centres = rng.normal(size=(k, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = 1.0 / np.arange(1, k + 1)
    label = rng.choice(k, size=rows, p=sizes / sizes.sum())
    spectrum = np.arange(1, rank + 1) ** -0.5
    spectrum *= spread / np.linalg.norm(spectrum)  # E|B z|^2 = spread^2
    x = np.empty((rows, dim), np.float32)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(k + 1))
    for c in range(k):
        idx = order[bounds[c] : bounds[c + 1]]
        if len(idx):
            basis, _ = np.linalg.qr(rng.normal(size=(dim, rank)))
            z = rng.normal(size=(len(idx), rank)) * spectrum
            x[idx] = centres[c] + (z @ basis.T) + (noise / np.sqrt(dim)) * rng.normal(size=(len(idx), dim))
    return x


def tight(rows: int, dim: int, rng: np.random.Generator):
    centres = rng.normal(size=(2000, dim)).astype(np.float32)
    return centres[rng.integers(0, 2000, rows)] + 0.35 * rng.normal(size=(rows, dim)).astype(np.float32)


def uniform(rows: int, dim: int, rng: np.random.Generator):
    return rng.normal(size=(rows, dim)).astype(np.float32)


CORPORA = {"mixture": mixture, "tight": tight, "uniform": uniform}


def corpus(kind: str, rows: int, queries: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` corpus vectors and ``queries`` held-out query vectors, all unit length."""
    rng = np.random.default_rng(seed)
    x = CORPORA[kind](rows + queries, dim, rng)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    held = np.zeros(len(x), bool)
    held[rng.choice(len(x), queries, replace=False)] = True
    return np.ascontiguousarray(x[~held]), np.ascontiguousarray(x[held])


def lid(scores: np.ndarray, k: int = 20) -> float:
    """Median MLE local intrinsic dimensionality from the top-(k+1) cosine similarities of each query."""
    d = np.sqrt(np.maximum(2.0 - 2.0 * scores[:, : k + 1], 1e-12))
    return float(np.median(-1.0 / np.mean(np.log(d[:, :-1] / d[:, -1:]), axis=1)))


def search_all(index, queries: np.ndarray, cfg, batch: bool) -> list:
    """One search call for the whole batch, or one call per query (latency of single queries)."""
    if batch:
        return index.search(queries, 10, None, cfg, "bench")
    return [index.search(q[None], 10, None, cfg, "bench")[0] for q in queries]


def timed(fn, repeats: int = 3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def parse_variant(text: str):
    from cosmos_embed.config import IndexConfig

    if text == "auto":
        return "auto", IndexConfig(), IndexConfig()
    kind, *options = text.split(":")
    values = dict(option.split("=") for option in options)
    build = IndexConfig(ann=kind, num_partitions=int(values["partitions"]) if "partitions" in values else None)
    search = IndexConfig(
        nprobes=int(values.get("nprobes", IndexConfig().nprobes)),
        refine_factor=int(values.get("refine", IndexConfig().refine_factor)),
    )
    return kind, build, search


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="mixture")
    parser.add_argument("--single", type=int, default=8, help="queries searched one at a time (latency)")
    parser.add_argument("--batch", type=int, default=64, help="queries searched in one call")
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--record")
    args = parser.parse_args()
    if args.corpus == "mixture" and args.dim < MIXTURE_RANK:
        parser.error(f"--dim {args.dim}: the mixture corpus spreads clusters over {MIXTURE_RANK} dimensions; "
                     f"use --dim {MIXTURE_RANK} or more, or another --corpus")  # fmt: skip

    import faiss
    import pyarrow as pa
    from cosmos_embed.config import IndexConfig
    from cosmos_embed.curation.index_table import AUTO_ANN, ClipIndex, IndexState

    start = time.perf_counter()
    x, held = corpus(args.corpus, args.rows, max(args.single, args.batch), args.dim)
    gen_s = time.perf_counter() - start
    folder = tempfile.mkdtemp(prefix="curation_search_")
    state = IndexState(dim=args.dim, fingerprint={"model": "bench", "preprocessing": {}}, columns={})
    index, _ = ClipIndex.for_build(folder, "index.uri", state)
    schema = index.schema()
    n = args.rows
    columns = {name: pa.nulls(n, schema.field(name).type) for name in schema.names}
    columns["id"] = pa.array([f"c{i}" for i in range(n)])
    columns["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), args.dim)
    start = time.perf_counter()
    for lo in range(0, n, 100_000):
        index.add(pa.table({k: v.slice(lo, 100_000) for k, v in columns.items()}, schema=schema))
    add_s = time.perf_counter() - start
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(x)
    del columns
    exact_cfg = IndexConfig(ann="none")
    threads = faiss.omp_get_max_threads()
    stamp = f"| {datetime.date.today()} | {machine()}, faiss {threads} threads | {args.corpus} {n} x {args.dim}"

    truth: dict[str, tuple] = {}
    structure = ""
    lines = []
    modes = {f"{args.single} x 1": (held[: args.single], False), f"{args.batch} at once": (held[: args.batch], True)}
    for q, (queries, batch) in modes.items():
        scores, ids = flat.search(queries, 100)
        faiss_s, _ = timed(
            lambda q=queries, b=batch: flat.search(q, 10) if b else [flat.search(v[None], 10) for v in q]
        )
        exact_s, hits = timed(lambda queries=queries, b=batch: search_all(index, queries, exact_cfg, b), repeats=2)
        if not batch:
            faiss_s, exact_s = faiss_s / len(queries), exact_s / len(queries)
        exact_ids = [[int(h["id"][1:]) for h in row] for row in hits]
        same = np.mean([set(e) == set(t[:10]) for e, t in zip(exact_ids, ids, strict=True)])
        truth[q] = (queries, batch, exact_ids, scores, exact_s)
        lines.append(
            f"{stamp} | {q} | exact (index scan) | - | {exact_s * 1e3:.1f} "
            f"| faiss {faiss_s * 1e3:.1f} ms, same top-10 {same:.2f} | | 1x |"
        )
        if batch:
            structure = (
                f"corpus structure over {len(queries)} held-out queries (median): LID {lid(scores):.1f}, "
                f"s1 {np.median(scores[:, 0]):.3f}, s10 {np.median(scores[:, 9]):.3f}, "
                f"s10-s11 {np.median(scores[:, 9] - scores[:, 10]):.1e}, s100 {np.median(scores[:, 99]):.3f}"
            )

    variants = [(text, *parse_variant(text)) for text in args.variants]
    builds: dict[tuple, list] = {}
    for text, kind, build, search in variants:
        same_as = AUTO_ANN if build.ann == "auto" and n >= build.ann_min_rows else build.ann  # one build for both
        builds.setdefault((same_as, build.num_partitions, build.num_sub_vectors), []).append(
            (text, kind, build, search)
        )
    build_notes = []
    for group in builds.values():
        build = group[0][2]
        start = time.perf_counter()
        built = index.ensure_ann(build)
        build_s = time.perf_counter() - start
        stats = index.ann_stats()
        build_notes.append(f"{', '.join(g[0] for g in group)}: {built} {stats} built in {build_s:.1f} s")
        print(build_notes[-1], flush=True)
        for text, kind, _, search in group:
            for q, (queries, batch, exact_ids, scores, exact_s) in truth.items():
                ann_s, hits = timed(lambda queries=queries, s=search, b=batch: search_all(index, queries, s, b))
                ann_s /= 1 if batch else len(queries)
                found = [[int(h["id"][1:]) for h in row] for row in hits]
                strict = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact_ids, strict=True)])
                tolerant = np.mean(
                    [
                        np.mean(
                            [float(x[i] @ queries[j]) >= scores[j, 9] - TIE_EPS for i in f[:10]] + [0.0] * (10 - len(f))
                        )
                        for j, f in enumerate(found)
                    ]
                )
                label = f"auto = {built}" if text == "auto" else kind
                params = f"nprobes {search.nprobes}" + (
                    f", refine {search.refine_factor}" if built != "ivf_flat" else ""
                )
                lines.append(
                    f"{stamp} | {q} | {label} | {params} | {ann_s * 1e3:.1f} | {strict:.3f} | {tolerant:.3f} "
                    f"| {exact_s / ann_s:.1f}x |"
                )
                print(lines[-1], flush=True)
        index.drop_ann()
    header = (
        f"generate {gen_s:.1f} s, add {n} rows {add_s:.1f} s; {structure}\n"
        + "\n".join(f"- {note}" for note in build_notes)
        + "\n\n| date | machine | corpus | queries | search | parameters | ms | recall@10 vs exact "
        "| recall@10 (ties 1e-3) | exact/ANN |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    text = "\n".join([" ".join(sys.argv), header, *lines])
    print(text)
    if args.record:
        append_record(args.record, "\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
