"""``python -m tests.hold TARGET FLAG [recsys-pipeline arguments]``: recsys-pipeline with one function
held. TARGET is ``module:attribute`` (``ml.data:ServingIndex.save``), optionally ``=text`` to hold
only a call whose first argument contains ``text``. The first such call writes the file FLAG and sleeps, so
a test can signal the run inside a step that on the sample is over in less time than a progress line
takes to reach the terminal."""

import importlib
import sys
import time
from pathlib import Path
from typing import Any

from dagster_defs import pipeline


def hold(target: str, flag: Path) -> None:
    spec, _, text = target.partition("=")
    module_name, _, attribute = spec.partition(":")
    *parents, name = attribute.split(".")
    owner: Any = importlib.import_module(module_name)
    for part in parents:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        if not flag.exists() and (not text or (args and text in str(args[0]))):
            flag.write_text(target)
            time.sleep(600)  # until the test's signal
        return original(*args, **kwargs)

    setattr(owner, name, held)


if __name__ == "__main__":
    hold(sys.argv[1], Path(sys.argv[2]))
    pipeline.main(sys.argv[3:])
