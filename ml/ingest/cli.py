"""The ingest commands: ``recsys-generate`` (the committed sample seeds or a larger Parquet dataset),
``recsys-import`` (public datasets in their published layout) and ``recsys-load-raw`` (raw files into
the warehouse's raw schema, for a dbt build by hand).

recsys-generate sample                      # dbt seeds + data/sample/ground_truth.npz
recsys-generate parquet --events 10000000   # data/raw/{users,items,events}.parquet + ground truth
recsys-generate parquet --by-day            # ... events as data/raw/events/day=YYYY-MM-DD/ folders
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from ml import settings
from ml.ingest import importers, raw_files, synthetic


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="recsys-generate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="regenerate the committed sample (dbt seeds)")
    sample.add_argument("--seeds-dir", type=Path, default=synthetic.SEEDS_DIR)
    sample.add_argument("--ground-truth", type=Path, default=synthetic.SAMPLE_GROUND_TRUTH)
    pq = sub.add_parser("parquet", help="write a dataset of a given size as Parquet files")
    pq.add_argument("--events", type=int, default=10_000_000, help="approximate number of events")
    pq.add_argument("--out", type=Path, default=Path("data/raw"))
    pq.add_argument("--days", type=int, default=60)
    pq.add_argument("--by-day", action="store_true", help="events in one folder per arrival day (incremental processing)")
    for p in (sample, pq):
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--transition-share", type=float, default=0.0, help="order: share of 'what's next' impressions (0: none)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    if args.command == "sample":
        config = synthetic.SyntheticConfig(seed=args.seed, dirty_share=0.002, transition_share=args.transition_share)
        data = synthetic.generate(config)
        paths = synthetic.write_csv(data, args.seeds_dir)
        data.ground_truth.save(args.ground_truth)
    else:
        config = synthetic.SyntheticConfig.for_events(
            args.events, seed=args.seed, n_days=args.days, transition_share=args.transition_share
        )
        data = synthetic.generate(config)
        paths = synthetic.write_parquet(data, args.out)
        data.ground_truth.save(args.out / "ground_truth.npz")
        if args.by_day:
            days = synthetic.events_by_day(paths["events"], args.out / "events")
            paths["events"].unlink()
            paths["events"] = args.out / "events" / f"day=*/ ({days} days)"
    print(
        f"{len(data.events):,} events, {len(data.users):,} users, {len(data.items):,} items "
        f"in {time.perf_counter() - t0:.1f}s -> " + ", ".join(str(p) for p in paths.values())
    )


def import_main(argv: list[str] | None = None) -> None:
    """``recsys-import <format> <src> --out <dir>``: a public dataset in its published layout -> the raw
    data contract, for ``RECSYS_RAW_DIR=<dir> recsys-pipeline``."""
    parser = argparse.ArgumentParser(prog="recsys-import", description=import_main.__doc__)
    parser.add_argument("format", choices=sorted(importers.IMPORTERS))
    parser.add_argument("src", type=Path, help="the dataset's folder as published (e.g. ml-100k/), or the reviews JSONL")
    parser.add_argument("--meta", type=Path, default=None, help="amazon-reviews: the product metadata JSONL")
    parser.add_argument("--out", type=Path, required=True, help="directory for users/items/events.parquet")
    parser.add_argument(
        "--rating-events",
        default=None,
        help="JSON rating threshold -> event type: a rating takes the type of the highest threshold it reaches, "
        'e.g. \'{"5": "purchase", "4": "click"}\' (ratings below every threshold are quarantined as '
        "unknown_event_type); default 5 purchase, 4 add_to_cart, 3 click, 0 view",
    )
    parser.add_argument(
        "--encoding",
        default="auto",
        help="text encoding of the files: auto (UTF-8 when valid, else latin-1, as MovieLens 100k/1M are published), "
        "or e.g. utf-8, latin-1",
    )
    args = parser.parse_args(argv)
    mapping = {float(k): v for k, v in json.loads(args.rating_events).items()} if args.rating_events else None
    extra = {"meta": args.meta} if args.format == "amazon-reviews" else {}
    try:
        imported = importers.IMPORTERS[args.format](args.src, rating_events=mapping, encoding=args.encoding, **extra)
    except (importers.ImportFileError, FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"recsys-import {args.format}: {exc}") from None
    paths = imported.write(args.out)
    print("\n".join(imported.ledger.summary()))
    rejects = imported.ledger.rejects()
    if len(rejects):
        first = rejects.iloc[0]
        print(
            f"{len(rejects):,} rows rejected -> {paths['rejects']} (first: {first['file']} line {first['line']} "
            f"{first['field']} {first['value']!r}: {first['reason']})"
        )
    frames = imported.frames
    print(", ".join(f"{len(frames[n]):,} {n}" for n in frames) + " -> " + ", ".join(str(paths[n]) for n in frames))


def load_raw_main(argv: list[str] | None = None) -> None:
    """``recsys-load-raw <dir>``: load raw files into the raw schema of the dbt target's warehouse (what the
    pipeline's raw/ step does), then build with dbt by hand::

        RECSYS_DBT_TARGET=postgres recsys-load-raw data/raw
        RECSYS_DBT_TARGET=postgres RECSYS_RAW_DIR=data/raw dbt build --project-dir dbt_project --profiles-dir dbt_project
    """
    parser = argparse.ArgumentParser(prog="recsys-load-raw", description=load_raw_main.__doc__)
    parser.add_argument("raw_dir", type=Path, help="directory with users, items and events files in the raw data contract")
    parser.add_argument("--format", default=os.environ.get("RECSYS_RAW_FORMAT", "parquet"), help="parquet (default) or csv")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        counts = raw_files.load(args.raw_dir, args.format)
    except raw_files.RawFileError as exc:
        raise SystemExit(f"recsys-load-raw: {exc}") from None
    rows = ", ".join(f"raw.{name} {n:,}" for name, n in counts.items())
    print(f"loaded into {settings.warehouse_label()} in {time.perf_counter() - t0:.1f}s: {rows}")


if __name__ == "__main__":
    main()
