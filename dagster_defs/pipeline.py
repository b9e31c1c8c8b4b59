"""``recsys-pipeline``: materialize the whole asset graph from the CLI and print a summary.

Parses the dbt project (writes the manifest the code location loads), points DAGSTER_HOME at
``data/dagster_home`` unless it is set, runs ``dagster asset materialize --select '*'`` and prints
what landed in the warehouse.
"""

import argparse
import os
import shutil
import subprocess
import sys

from ml import settings, warehouse


def prepare_dbt_manifest() -> None:
    settings.export_dbt_env()
    subprocess.run(
        [settings.DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
        check=True,
    )


def dagster_home() -> str:
    home = os.environ.get("DAGSTER_HOME") or str(settings.data_dir() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    committed = settings.ROOT / "data" / "dagster_home" / "dagster.yaml"
    target = os.path.join(home, "dagster.yaml")
    if not os.path.exists(target) and committed.exists():
        shutil.copy(committed, target)
    return home


def summary() -> str:
    with warehouse.connect() as con:
        lines = ["warehouse: " + str(settings.warehouse_path())]
        rows = con.execute(
            "select source_table, quarantine_reason, count(*) from staging.stg_shop__quarantine "
            "group by all order by 1, 3 desc"
        ).fetchall()
        lines.append("quarantined rows: " + (", ".join(f"{t}/{r}={n}" for t, r, n in rows) or "none"))
        for rel in ("marts.interactions", "marts.user_features", "marts.item_features", "marts.ctr_examples"):
            lines.append(f"{rel}: {warehouse.scalar(con, f'select count(*) from {rel}'):,} rows")
        if warehouse.table_exists(con, "marts", "leaderboard"):
            lines.append("leaderboard (marts.leaderboard):")
            lines.append(con.execute("select * from marts.leaderboard order by ndcg_at_10 desc").df().to_string(index=False))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recsys-pipeline", description=__doc__)
    parser.add_argument("--select", default="*", help="Dagster asset selection (default: everything)")
    args = parser.parse_args(argv)
    prepare_dbt_manifest()
    env = {**os.environ, "DAGSTER_HOME": dagster_home()}
    cmd = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "dagster_defs.definitions",
           "--select", args.select]
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        sys.exit(f"materialization failed (exit {result.returncode}); see the log above")
    print(summary())


if __name__ == "__main__":
    main()
