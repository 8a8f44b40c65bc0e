"""Runtime set-up shared by every notebook: seeding, the profile switch, a device report,
and an inspector that says whether a recurrent layer can run on the fused cuDNN kernel.

The profile decides how much data and how many epochs a notebook uses:

- ``fast``: small enough that each notebook runs in about 3 minutes on 2 CPU cores (CI uses it);
- ``full``: long enough to reach the numbers quoted in the notebooks' text (meant for a GPU).

Select it with the environment variable ``COURSE_PROFILE``; by default it is ``full`` when a GPU
is visible and ``fast`` otherwise.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from dataclasses import dataclass, field

__all__ = [
    "PROFILES", "PROFILE_ENV", "ProfileError", "set_seed", "gpu_names", "DEFAULT_PROFILE",
    "get_profile", "in_colab", "cpu_cores", "device_report", "quiet_new_model_tracing", "setup",
    "RESULT_PREFIX", "format_result", "parse_result", "report", "CudnnReport",
    "cudnn_eligibility",
]

PROFILES = ("fast", "full")
PROFILE_ENV = "COURSE_PROFILE"


class ProfileError(ValueError):
    """Raised when ``COURSE_PROFILE`` holds an unknown value."""


def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and the Keras backend so that a run is repeatable."""
    import keras

    keras.utils.set_random_seed(seed)


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow can see (empty on a CPU-only machine)."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_logical_devices("GPU")]


DEFAULT_PROFILE = "fast"


def get_profile(default: str = DEFAULT_PROFILE) -> str:
    """The active profile: ``COURSE_PROFILE`` if set, else ``default`` (``fast``).

    Raises:
        ProfileError: the value is not one of ``fast`` or ``full``.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower() or default
    if value not in PROFILES:
        raise ProfileError(
            f"unknown profile {value!r} in {PROFILE_ENV}; choose one of {', '.join(PROFILES)} "
            f"(e.g. `export {PROFILE_ENV}=fast`), or unset it for the default, "
            f"{DEFAULT_PROFILE!r}"
        )
    return value


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def cpu_cores() -> int:
    """The CPU cores this process may run on: fewer than the machine's when it is pinned to
    some of them (``taskset``, a container's CPU set, the test suite's workers), which is what
    TensorFlow sizes its thread pools by."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def device_report() -> dict[str, str]:
    """Versions and hardware as a flat dict of strings (printed by :func:`setup`)."""
    import keras
    import tensorflow as tf

    import course_lib

    gpus, cores = gpu_names(), cpu_cores()
    return {
        "course_lib": course_lib.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "device": f"GPU x{len(gpus)}" if gpus else f"CPU ({cores} core{'s' * (cores != 1)})",
        "colab": "yes" if in_colab() else "no",
    }


class _NewModelTracing(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing"
    warning. Its heuristic counts the first trace of each *new* model's train/predict function
    as a retrace of the same code; notebooks that train a fresh model per run in a loop (a
    sweep, several seeds) trigger it while nothing is traced twice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_new_model_tracing() -> None:
    """Install :class:`_NewModelTracing` on TensorFlow's logger (once)."""
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NewModelTracing) for f in logger.filters):
        logger.addFilter(_NewModelTracing())


def setup(seed: int = 42) -> str:
    """Seed everything, print the device report and the profile; return the profile."""
    set_seed(seed)
    quiet_new_model_tracing()
    profile = get_profile()
    report = device_report() | {"profile": profile, "seed": str(seed)}
    print("  ".join(f"{key}={value}" for key, value in report.items()))
    return profile


RESULT_PREFIX = "result"


def format_result(name: str, value: float | int | str, profile: str, digits: int = 3) -> str:
    """The standard result line: ``result NAME=VALUE profile=PROFILE``.

    Floats are written with ``digits`` decimals; ``name`` must be an identifier (letters,
    digits, underscores) so that the line parses back unambiguously.
    """
    if not name.isidentifier():
        raise ValueError(f"result name must be an identifier like 'pos_accuracy', got {name!r}")
    text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    if not text or any(ch.isspace() for ch in text):
        raise ValueError(f"result {name}: value {value!r} prints with spaces or empty")
    return f"{RESULT_PREFIX} {name}={text} profile={profile}"


def parse_result(line: str) -> tuple[str, str, str] | None:
    """``(name, value, profile)`` of a standard result line, or None for any other line."""
    fields = line.strip().split()
    if len(fields) != 3 or fields[0] != RESULT_PREFIX or not fields[2].startswith("profile="):
        return None
    name, _, value = fields[1].partition("=")
    return (name, value, fields[2].removeprefix("profile=")) if name.isidentifier() else None


def report(name: str, value: float | int | str, digits: int = 3):
    """Print one headline number as the standard result line and return ``value`` unchanged.

    ``runtime.report("pos_accuracy", 0.9123)`` prints ``result pos_accuracy=0.912
    profile=fast``; ``make results`` builds the README's results table from these lines.
    """
    print(format_result(name, value, get_profile(), digits))
    return value


# --------------------------------------------------------------------------------------------
# cuDNN eligibility
# --------------------------------------------------------------------------------------------


@dataclass
class CudnnReport:
    """Whether a layer's arguments allow the fused cuDNN kernel, and why not if they don't.

    ``eligible`` is about the layer's configuration; ``will_use_cudnn`` also needs a GPU.
    """

    layer: str
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    gpu_available: bool = False

    @property
    def will_use_cudnn(self) -> bool:
        return self.eligible and self.gpu_available

    def __str__(self) -> str:
        if self.eligible:
            where = "on this GPU" if self.gpu_available else "once a GPU is present"
            return f"{self.layer}: cuDNN kernel eligible ({where})"
        return f"{self.layer}: generic kernel, because " + "; ".join(self.reasons)


def _is(fn: object, name: str) -> bool:
    """True when the activation ``fn`` is Keras' (or TF's) function called ``name``."""
    import keras
    import tensorflow as tf

    return fn in (getattr(keras.activations, name), getattr(tf, name, None),
                  getattr(keras.ops, name))


def _is_right_padded(mask) -> bool:
    """True when every row of a (batch, time) boolean mask is ones then zeros, never all zero."""
    import numpy as np

    mask = np.asarray(mask, dtype=bool)
    lengths = mask.sum(axis=1)
    expected = np.arange(mask.shape[1])[None, :] < lengths[:, None]
    return bool(np.all(mask == expected) and np.all(lengths > 0))


def cudnn_eligibility(layer, mask=None) -> CudnnReport:
    """Say whether ``layer`` (LSTM, GRU, or a Bidirectional of one) can use cuDNN, and why not.

    The rules mirror the installed Keras 3 TensorFlow backend (``keras/src/backend/tensorflow/
    rnn.py: cudnn_ok`` and the layers' ``inner_loop``): tanh activation, sigmoid recurrent
    activation, ``use_bias=True``, ``unroll=False``, ``recurrent_dropout=0``, ``use_cudnn`` not
    False, and for GRU ``reset_after=True``. Input ``dropout`` is fine: Keras applies it to the
    inputs before calling the fused kernel (from Keras 3.4 on; the course requires 3.8).

    Args:
        layer: a ``keras.layers.LSTM``/``GRU``/``SimpleRNN`` or ``Bidirectional`` wrapper.
        mask: optional (batch, time) boolean mask that will be passed; cuDNN needs right padding.
    """
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        forward = cudnn_eligibility(layer.forward_layer, mask)
        forward.layer = f"Bidirectional({forward.layer})"
        return forward

    name = type(layer).__name__
    gpu = bool(gpu_names())
    if not isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return CudnnReport(name, False, [f"{name} has no cuDNN kernel (only LSTM and GRU do)"], gpu)

    reasons = []
    if keras.backend.backend() != "tensorflow":
        reasons.append(f"backend is {keras.backend.backend()!r}, the course uses 'tensorflow'")
    if layer.use_cudnn is False:
        reasons.append("use_cudnn=False")
    if not _is(layer.activation, "tanh"):
        reasons.append(f"activation={layer.activation.__name__} (needs tanh)")
    if not _is(layer.recurrent_activation, "sigmoid"):
        reasons.append(
            f"recurrent_activation={layer.recurrent_activation.__name__} (needs sigmoid)"
        )
    if not layer.use_bias:
        reasons.append("use_bias=False (needs True)")
    if layer.unroll:
        reasons.append("unroll=True (needs False)")
    if layer.recurrent_dropout:
        reasons.append(f"recurrent_dropout={layer.recurrent_dropout} (needs 0)")
    if isinstance(layer, keras.layers.GRU) and not layer.reset_after:
        reasons.append("reset_after=False (needs True)")
    if mask is not None and not _is_right_padded(mask):
        reasons.append(
            "mask is not right-padded (or a row is fully masked): on a GPU Keras raises an "
            "error instead of falling back; pad on the right or pass use_cudnn=False"
        )
    return CudnnReport(name, not reasons, reasons, gpu)
