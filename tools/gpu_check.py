"""On a machine with an NVIDIA GPU: prove that the course's LSTM/GRU layers run cuDNN, measure the
benchmark's GPU rows, and run every notebook in the full profile. `make gpu-check` runs it.

    python tools/gpu_check.py [--skip-notebooks] [--budget 600]

1. cuDNN in use: for LSTM and GRU at 256 units, T 100, batch 64 the course's layer (Keras'
   default ``use_cudnn="auto"``, built by ``models.recurrent_layer``) is timed against the
   same layer forced onto cuDNN (``use_cudnn=True``: Keras raises if cuDNN cannot run) and
   against the generic kernel (``use_cudnn=False``). Passes when the course layer is within
   1.3x of forced cuDNN and forced cuDNN is at least 3x faster than the generic kernel (a
   fused kernel that did not run shows neither).
2. The benchmark's rows on the GPU (``python -m course_lib.bench --rounds 3``).
3. Every notebook in the full profile, results recorded in
   ``notebooks/results/full-gpu.json`` (then `make results` puts them in the README).

It stops with a clear message on a machine without a GPU, and fails if the whole check takes
longer than ``--budget`` seconds (default 600).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CUDNN_SHAPE = dict(units=256, length=100, batch=64, features=32)
MIN_FUSED_SPEEDUP = 3.0  # forced cuDNN over the generic kernel
MAX_AUTO_SLOWDOWN = 1.3  # the course's layer against forced cuDNN


def train_step_seconds(cell: str, use_cudnn: str | bool, steps: int = 20) -> float:
    """Seconds per training step of one recurrent layer + Dense on random data."""
    import keras
    import numpy as np

    from course_lib import models, training

    keras.utils.set_random_seed(0)
    s = CUDNN_SHAPE
    model = keras.Sequential([keras.Input((s["length"], s["features"])),
                              models.recurrent_layer(cell, s["units"], use_cudnn=use_cudnn),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(s["batch"], s["length"], s["features"])).astype("float32")
    y = rng.normal(size=(s["batch"], 1)).astype("float32")
    return training.seconds_per_train_step(model, x, y, steps)


def check_cudnn() -> list[str]:
    """Time each kernel; return the failures (empty when cuDNN is really used)."""
    from course_lib import models, runtime

    failures = []
    for cell in ("lstm", "gru"):
        report = runtime.cudnn_eligibility(models.recurrent_layer(cell, 8))
        seconds = {kernel: train_step_seconds(cell, kernel) for kernel in ("auto", True, False)}
        fused_speedup = seconds[False] / seconds[True]
        auto_slowdown = seconds["auto"] / seconds[True]
        print(f"{cell}: course layer {seconds['auto'] * 1e3:.1f} ms/step, cuDNN forced "
              f"{seconds[True] * 1e3:.1f} ms, generic {seconds[False] * 1e3:.1f} ms -> cuDNN "
              f"{fused_speedup:.1f}x the generic kernel; {report}")
        if not report.will_use_cudnn:
            failures.append(f"{cell}: cudnn_eligibility says no: {report}")
        if fused_speedup < MIN_FUSED_SPEEDUP:
            failures.append(f"{cell}: cuDNN only {fused_speedup:.1f}x the generic kernel "
                            f"(expected >= {MIN_FUSED_SPEEDUP}x)")
        if auto_slowdown > MAX_AUTO_SLOWDOWN:
            failures.append(f"{cell}: the course's layer is {auto_slowdown:.1f}x slower than "
                            f"cuDNN forced: it is not running the fused kernel")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for everything")
    args = parser.parse_args(argv)
    from course_lib import runtime

    if not runtime.gpu_names():
        print("gpu-check needs an NVIDIA GPU that TensorFlow can see (none found). Install "
              "TensorFlow with CUDA: .venv/bin/pip install 'tensorflow[and-cuda]'")
        return 2
    started = time.perf_counter()
    failures = check_cudnn()
    python = sys.executable
    subprocess.run([python, "-m", "course_lib.bench", "--rounds", "3",
                    "--settings", "plain Keras", "course fast path"], check=True, cwd=ROOT)
    if not args.skip_notebooks:
        run = subprocess.run([python, "tools/store_notebook.py", "--profile", "full",
                              "--no-store", "--results", "notebooks/results/full-gpu.json",
                              *sorted(str(p.relative_to(ROOT))
                                      for p in (ROOT / "notebooks").glob("*.ipynb"))], cwd=ROOT)
        if run.returncode:
            failures.append("a notebook failed in the full profile (see above)")
    elapsed = time.perf_counter() - started
    print(f"gpu-check took {elapsed:.0f} s (budget {args.budget:.0f} s)")
    if elapsed > args.budget:
        failures.append(f"took {elapsed:.0f} s, over the {args.budget:.0f} s budget")
    for failure in failures:
        print("FAIL", failure)
    print("gpu-check passed" if not failures else f"gpu-check: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
