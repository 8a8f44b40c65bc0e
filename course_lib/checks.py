"""Self-checks for the exercises: ``checks.ex_1_1(my_function)``.

A check runs the student's function on a few small cases and prints ✓, or one concrete hint
(which case, expected vs got shape, the first mismatching index and values) — never the
solution. With ``strict=True``, or ``COURSE_CHECKS_STRICT=1`` in the environment (the test
suite sets it), a failed check raises :class:`CheckFailed`, so a wrong reference solution in a
stored notebook fails CI.

Exercise ids are ``ex_<notebook>_<number>`` and are also written in the exercise cells. The
``ex_*`` functions print and return None (so a notebook cell shows no stray value);
:func:`run_check` returns whether every case passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STRICT_ENV = "COURSE_CHECKS_STRICT"


class CheckFailed(AssertionError):
    """A self-check found a wrong answer (raised in strict mode)."""


@dataclass
class Case:
    """One call of the student's function and the answer it should give."""

    label: str
    args: tuple
    expected: Any
    kwargs: dict = field(default_factory=dict)


def compare(got: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5) -> str | None:
    """None when ``got`` matches ``expected``; otherwise a short hint saying how it differs."""
    if np.isscalar(expected) and not isinstance(expected, (float, np.floating)):
        return None if got == expected else f"expected {expected!r}, got {got!r}"
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"expected an array-like of numbers, got {type(got).__name__}"
    expected_array = np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape:
        return f"expected shape {expected_array.shape}, got {got_array.shape}"
    if not np.all(np.isfinite(got_array)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(got_array))[0])
        return f"non-finite value {got_array[index]} at index {index}"
    close = np.isclose(got_array, expected_array, atol=atol, rtol=rtol)
    if close.all():
        return None
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    return (f"{(~close).sum()} of {close.size} values differ; first at index {index}: "
            f"expected {expected_array[index]:.6g}, got {got_array[index]:.6g}")


def run_check(exercise: str, function: Callable, cases: Iterable[Case], strict: bool | None = None,
              atol: float = 1e-6) -> bool:
    """Run ``function`` on every case; print ✓ or the first failing case's hint.

    Returns True when all cases pass. Raises :class:`CheckFailed` on failure in strict mode.
    """
    if strict is None:
        strict = os.environ.get(STRICT_ENV, "") not in ("", "0")
    cases = list(cases)
    for number, case in enumerate(cases, start=1):
        try:
            got = function(*case.args, **case.kwargs)
        except NotImplementedError:
            hint = "not implemented yet (the function still raises NotImplementedError)"
        except Exception as error:  # the student's code may raise anything
            hint = f"raised {type(error).__name__}: {error}"
        else:
            hint = compare(got, case.expected, atol=atol)
        if hint is not None:
            message = f"✗ {exercise}, case {number}/{len(cases)} ({case.label}): {hint}"
            print(message)
            if strict:
                raise CheckFailed(message)
            return False
    print(f"✓ {exercise}: all {len(cases)} cases pass")
    return True


# --------------------------------------------------------------------------------------------
# notebook 01
# --------------------------------------------------------------------------------------------


def _rnn_step_cases() -> list[Case]:
    from course_lib.scratch import rnn_step

    rng = np.random.default_rng(101)
    cases = []
    for batch, features, units in [(1, 1, 1), (2, 3, 4), (5, 2, 3)]:
        args = (rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(size=(features, units)), rng.normal(size=(units, units)),
                rng.normal(size=(units,)))
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          rnn_step(*args)))
    return cases


def ex_1_1(rnn_step_fn: Callable, strict: bool | None = None) -> None:
    """Check ``rnn_step_fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t``."""
    run_check("ex_1_1", rnn_step_fn, _rnn_step_cases(), strict)


def _simple_rnn_param_cases() -> list[Case]:
    import keras

    cases = []
    for features, units in [(1, 1), (3, 4), (65, 256)]:
        layer = keras.layers.SimpleRNN(units)
        layer.build((None, None, features))
        cases.append(Case(f"features={features}, units={units}", (features, units),
                          int(layer.count_params())))
    return cases


def ex_1_2(param_count_fn: Callable, strict: bool | None = None) -> None:
    """Check ``param_count_fn(features, units) -> int`` against Keras' ``count_params()``."""
    run_check("ex_1_2", param_count_fn, _simple_rnn_param_cases(), strict)


def _temperature_cases() -> list[Case]:
    from course_lib.decoding import softmax_with_temperature

    logits = np.array([[2.0, 1.0, 0.0, -1.0], [0.5, 0.5, 3.0, 0.0]])
    return [Case(f"temperature={t}", (logits, t), softmax_with_temperature(logits, t))
            for t in (1.0, 0.5, 2.0)] + [
        Case("large logits (stability)", (np.array([[1000.0, 999.0]]), 1.0),
             softmax_with_temperature(np.array([[1000.0, 999.0]]), 1.0))]


def ex_1_3(softmax_fn: Callable, strict: bool | None = None) -> None:
    """Check ``softmax_fn(logits, temperature) -> probabilities`` over the last axis."""
    run_check("ex_1_3", softmax_fn, _temperature_cases(), strict)
