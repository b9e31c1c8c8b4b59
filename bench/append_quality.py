"""Quality of a daily append against a full run on the same data: every model's NDCG@10 per test user in
the latest evaluation of each of two warehouses, paired (the same users, the same test window), and the
click models' test AUC side by side.

    python -m bench.append_quality APPEND_WAREHOUSE FULL_WAREHOUSE

``bench.scale --paired`` runs it after the append, against a fresh full run on every day.
"""

import argparse
from pathlib import Path

import pandas as pd

from ml.evaluation import uncertainty
from ml.warehouse import connection as warehouse

LATEST = """
select r.model, r.user_id, r.value from evaluation.user_results r
join (select model, max(written_at) as written_at from evaluation.user_results group by model) l
  on r.model = l.model and r.written_at = l.written_at
"""


def per_user(path: Path) -> dict[str, pd.Series]:
    """Each model's headline metric per user in its latest evaluation in the warehouse at ``path``."""
    frame = warehouse.query_df(LATEST, path)
    return {model: rows.set_index("user_id")["value"] for model, rows in frame.groupby("model")}


def compare(append: Path, full: Path) -> pd.DataFrame:
    """Per model: the append's NDCG@10, the full run's, their paired difference with its interval."""
    mine, theirs = per_user(append), per_user(full)
    rows = []
    for model in sorted(mine.keys() & theirs.keys()):
        c = uncertainty.paired_comparison(mine[model], theirs[model])
        rows.append(
            {
                "model": model,
                "append": mine[model].mean(),
                "full": theirs[model].mean(),
                "diff": c.diff,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "p": c.p_value,
                "users": c.n_users,
                "verdict": c.verdict(),
            }
        )
    return pd.DataFrame(rows)


def click_auc(append: Path, full: Path) -> pd.DataFrame:
    query = "select model, ctr_auc from marts.leaderboard where ctr_auc is not null"
    a, f = (warehouse.query_df(query, p).set_index("model")["ctr_auc"] for p in (append, full))
    return pd.DataFrame({"append": a, "full": f, "diff": a - f})


def report(append: Path, full: Path) -> None:
    print("\nNDCG@10 per test user, the append against a full run on the same days (paired):")
    print(compare(append, full).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\ntest AUC of the click models:")
    print(click_auc(append, full).to_string(float_format=lambda v: f"{v:.5f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("append", type=Path, help="the warehouse after the append")
    parser.add_argument("full", type=Path, help="the warehouse of a full run on the same data")
    args = parser.parse_args()
    report(args.append, args.full)


if __name__ == "__main__":
    main()
