"""Pick notebook 07's learning rates by one procedure for all three contenders and record the
result in ``course_lib/learning_rates.json`` (see :mod:`course_lib.contenders`).

    python tools/tune_learning_rates.py            # fast-profile budget, about 5 min on 2 cores

Every contender trains at every rate of ``contenders.RATE_GRID`` with the budget notebook 07
uses in the fast profile (8,000 training dates, 4 epochs, seed 42) and is scored by greedy
exact match on 500 validation dates (neither training nor test dates).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib import contenders, runtime, synthetic  # noqa: E402

BUDGET = {"date_train": 8000, "epochs": 4, "seed": 42}


def main() -> None:
    runtime.setup(seed=BUDGET["seed"])
    task = synthetic.date_task(BUDGET["date_train"])
    started = time.perf_counter()
    scores = contenders.tune_learning_rates(task, BUDGET["epochs"], seed=BUDGET["seed"])
    record = {"procedure": "Adam at each rate, same batches and epochs, greedy exact match on "
                           "500 validation dates; best rate wins (ties: the lower)",
              "budget": BUDGET, "rates": list(contenders.RATE_GRID),
              "validation_exact_match": scores, "seconds": round(time.perf_counter() - started),
              "environment": runtime.device_report()}
    contenders.TUNING_FILE.write_text(json.dumps(record, indent=1) + "\n")
    for name, by_rate in scores.items():
        print(f"{name:<14}", "  ".join(f"{rate}: {score:.3f}" for rate, score in by_rate.items()))
    print("best:", contenders.tuned_rates(), f"({record['seconds']} s)")


if __name__ == "__main__":
    main()
