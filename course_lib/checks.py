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
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "STRICT_ENV", "CheckFailed", "Case", "compare", "run_check", "rnn_step_cases",
    "keras_param_cases", "lstm_param_cases", "temperature_cases", "bptt_step_cases",
    "jacobian_norm_cases", "clip_cases", "lstm_step_cases", "forget_gate_cases",
    "gru_step_cases", "gru_param_cases", "window_cases", "merge_shape_cases",
    "masked_mean_cases", "padding_cases", "additive_score_cases", "masked_softmax_cases",
    "beam_step_cases", "scaled_attention_cases", "causal_mask_cases", "encoding_cases",
    "Exercise", "EXERCISES", "check", "ex_1_1", "ex_1_2", "ex_1_3", "ex_2_1", "ex_2_2",
    "ex_2_3", "ex_3_1", "ex_3_2", "ex_3_3", "ex_4_1", "ex_4_2", "ex_4_3", "ex_5_1", "ex_5_2",
    "ex_5_3", "ex_6_1", "ex_6_2", "ex_6_3", "ex_7_1", "ex_7_2", "ex_7_3", "ex_7_4",
    "kv_cache_step_cases", "ex_2_4", "bptt_loop_cases", "ex_6_4", "ex_6_5", "bleu_cases",
    "beam_search_cases", "ex_3_4", "lstm_step_backward_cases",
    "ex_4_4", "ridge_ar_cases", "ex_5_4", "char_cnn_cases",
    "ex_7_5", "multi_head_cases", "ex_9_1", "ex_9_2", "ex_9_3", "scan_combine_cases",
    "min_gru_step_cases", "log_scan_cases", "ex_10_1", "ex_10_2", "replica_loss_cases",
    "greedy_stream_cases", "ex_10_3", "scaled_rate_cases",
]

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
    mistakes: dict[str, Any] = field(default_factory=dict)  # what is wrong -> its answer


def compare(got: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5) -> str | None:
    """None when ``got`` matches ``expected``; otherwise a short hint saying how it differs.

    A tuple ``expected`` is compared item by item (e.g. several gradients returned at once).
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected {len(expected)} results, got {_describe(got)}"
        for position, (got_item, expected_item) in enumerate(zip(got, expected, strict=True)):
            hint = compare(got_item, expected_item, atol, rtol)
            if hint is not None:
                return f"result {position}: {hint}"
        return None
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


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"{len(value)} results"
    return f"a single {type(value).__name__}"


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
            if hint is not None:  # a known misconception says *what* is wrong, not only where
                hint = next((what for what, wrong in case.mistakes.items()
                             if compare(got, wrong, atol=atol) is None), hint)
        if hint is not None:
            message = f"✗ {exercise}, case {number}/{len(cases)} ({case.label}): {hint}"
            print(message)
            if strict:
                raise CheckFailed(message)
            return False
    print(f"✓ {exercise}: all {len(cases)} cases pass")
    return True


# --------------------------------------------------------------------------------------------
# The answer key: one case generator per exercise, each taking a seed and the sizes to draw
# --------------------------------------------------------------------------------------------
# Self-checks use each generator's defaults; the grader's hidden cases (grading/tests/hidden.py)
# are the same generators called with other seeds and sizes.


def rnn_step_cases(seed: int = 101, sizes=((1, 1, 1), (2, 3, 4), (5, 2, 3))) -> list[Case]:
    """(batch, features, units) -> ``scratch.rnn_step`` on random inputs and weights."""
    from course_lib.scratch import rnn_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        args = (rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(size=(features, units)), rng.normal(size=(units, units)),
                rng.normal(size=(units,)))
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          rnn_step(*args)))
    return cases


def keras_param_cases(seed: int = 0, sizes=((1, 1), (3, 4), (65, 256)),
                      layer: str = "SimpleRNN") -> list[Case]:
    """(features, units) -> ``count_params()`` of ``keras.layers.<layer>(units)`` (no
    randomness: ``seed`` is unused)."""
    import keras

    cases = []
    for features, units in sizes:
        built = getattr(keras.layers, layer)(units)
        built.build((None, None, features))
        cases.append(Case(f"features={features}, units={units}", (features, units),
                          int(built.count_params())))
    return cases


def lstm_param_cases(seed: int = 0, sizes=((1, 1), (3, 4), (32, 128))) -> list[Case]:
    """:func:`keras_param_cases` for ``keras.layers.LSTM``."""
    return keras_param_cases(seed, sizes, layer="LSTM")


def temperature_cases(seed: int = 103, sizes=((2, 4, 1.0), (2, 4, 0.5), (2, 4, 2.0))
                      ) -> list[Case]:
    """(rows, classes, temperature) -> softmax of random logits, plus one case of huge logits
    (a plain ``exp`` overflows)."""
    from course_lib.decoding import softmax_with_temperature

    rng = np.random.default_rng(seed)
    cases = [Case(f"logits ({rows}, {classes}), temperature={t}", (logits, t),
                  softmax_with_temperature(logits, t))
             for rows, classes, t in sizes
             for logits in [rng.normal(scale=2.0, size=(rows, classes))]]
    huge = np.array([[1000.0, 999.0, -1000.0]])
    return [*cases, Case("large logits (stability)", (huge, 0.5),
                         softmax_with_temperature(huge, 0.5))]


def bptt_step_cases(seed: int = 202, sizes=((1, 1, 1), (2, 3, 4), (4, 2, 5))) -> list[Case]:
    """(batch, features, units) -> the gradients of one tanh step (``scratch.rnn_backward``)."""
    from course_lib.scratch import rnn_backward, rnn_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        x_t, h_prev = rng.normal(size=(batch, features)), rng.normal(size=(batch, units))
        kernel, recurrent = rng.normal(size=(features, units)), rng.normal(size=(units, units))
        h_t = rnn_step(x_t, h_prev, kernel, recurrent, rng.normal(size=units))
        d_h = rng.normal(size=(batch, units))
        grads = rnn_backward(d_h[:, None], x_t[:, None], h_prev, h_t[:, None], kernel, recurrent)
        expected = (grads.kernel, grads.recurrent_kernel, grads.bias, grads.x[:, 0], grads.h0)
        cases.append(Case(f"batch={batch}, features={features}, units={units}",
                          (d_h, h_t, h_prev, x_t, kernel, recurrent), expected))
    return cases


def bptt_loop_cases(seed: int = 204, sizes=((2, 4, 3, 5), (1, 1, 2, 2), (3, 6, 1, 4))
                    ) -> list[Case]:
    """(batch, time, features, units) -> the five gradients of full BPTT through a tanh RNN
    (``scratch.rnn_backward``), with the typical mistakes as named wrong answers."""
    from course_lib.scratch import rnn_backward, rnn_forward

    rng = np.random.default_rng(seed)
    cases = []
    for batch, time, features, units in sizes:
        x, h0 = rng.normal(size=(batch, time, features)), rng.normal(size=(batch, units))
        kernel = rng.normal(scale=0.7, size=(features, units))
        recurrent = rng.normal(scale=0.7, size=(units, units))
        states = rnn_forward(x, h0, kernel, recurrent, rng.normal(size=units))
        d_states = rng.normal(size=states.shape)
        args = (d_states, x, h0, states, kernel, recurrent)

        def answer(grads):
            return (grads.kernel, grads.recurrent_kernel, grads.bias, grads.x, grads.h0)

        full = answer(rnn_backward(*args))
        mistakes = {"d_recurrent_kernel is transposed: it sums h_{t-1}^T @ d_pre_t, shape "
                    "(units of h_{t-1}, units of h_t)": (full[0], full[1].T, *full[2:])}
        if time > 1:
            mistakes["the gradient from later steps is missing: d_h_t must add "
                     "d_pre_{t+1} @ recurrent_kernel.T before the step's own backward"] = answer(
                rnn_backward(*args, truncate=1))
        cases.append(Case(f"batch={batch}, time={time}, features={features}, units={units}",
                          args, full, mistakes=mistakes))
    return cases


def jacobian_norm_cases(seed: int = 203,
                        sizes=((1, 3, 0, 2), (4, 8, 2, 7), (6, 12, 0, 11), (3, 5, 4, 4))
                        ) -> list[Case]:
    """(units, time, start, end) -> spectral norm of d h_end / d h_start of a tanh RNN."""
    from course_lib.scratch import rnn_forward

    rng = np.random.default_rng(seed)
    cases = []
    for units, time, start, end in sizes:
        recurrent = rng.normal(scale=0.6, size=(units, units))
        states = rnn_forward(rng.normal(size=(1, time, 2)), None, rng.normal(size=(2, units)),
                             recurrent, np.zeros(units))[0]
        product = np.eye(units)
        for t in range(start + 1, end + 1):
            product = np.diag(1 - states[t] ** 2) @ recurrent.T @ product
        cases.append(Case(f"units={units}, from step {start} to {end}",
                          (states, recurrent, start, end), float(np.linalg.norm(product, 2))))
    return cases


def clip_cases(seed: int = 204, sizes=((0.01, 5.0, 1), (10.0, 1.0, 1), (1.0, 2.0, 100))
               ) -> list[Case]:
    """(gradient scale, max_norm, factor on the second tensor) -> ``tf.clip_by_global_norm``."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    cases = []
    for scale, max_norm, factor in sizes:
        grads = [rng.normal(scale=scale, size=s) for s in [(3, 4), (4,), (2, 2)]]
        grads[1] *= factor
        clipped, norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
        where = "below" if float(norm) <= max_norm else "above"
        cases.append(Case(f"global norm {float(norm):.3g} {where} max_norm={max_norm}"
                          + (f", second tensor x{factor}" if factor != 1 else ""),
                          (grads, max_norm), tuple(np.asarray(c) for c in clipped)))
    return cases


def _lstm_weights(rng, features: int, units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (rng.normal(scale=0.5, size=(features, 4 * units)),
            rng.normal(scale=0.5, size=(units, 4 * units)), rng.normal(size=4 * units))


def lstm_step_cases(seed: int = 301, sizes=((1, 1, 1), (2, 3, 4), (3, 2, 5))) -> list[Case]:
    """(batch, features, units) -> ``scratch.lstm_step`` (Keras' gate order i, f, c, o)."""
    from course_lib.scratch import lstm_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        args = (rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(size=(batch, units)), *_lstm_weights(rng, features, units))
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          tuple(lstm_step(*args))))
    return cases


def _lstm_step_backward(d_h, d_c, x_t, h_prev, c_prev, kernel, recurrent_kernel, bias,
                        through_h: bool = True, forget: bool = True) -> tuple:
    """One LSTM step's backward pass via ``scratch.lstm_backward`` on a length-1 sequence;
    ``through_h=False`` drops the path h_t -> c_t and ``forget=False`` the forget gate in
    d_c_prev (two typical mistakes, see ex_3_4)."""
    from course_lib.scratch import lstm_backward, lstm_step

    h_t, c_t = lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)
    if not through_h:  # the h_t -> c_t path cancels when d_c carries minus its contribution
        from course_lib.scratch import lstm_gates

        o = lstm_gates(x_t @ kernel + h_prev @ recurrent_kernel + bias)[3]
        d_c = d_c - d_h * o * (1 - np.tanh(c_t) ** 2)
    grads = lstm_backward(d_h[:, None], x_t[:, None], h_prev, c_prev, h_t[:, None],
                          c_t[:, None], kernel, recurrent_kernel, bias, d_cells=d_c[:, None])
    d_c_prev = grads.c0 if forget else grads.cells[:, 0]
    return (grads.x[:, 0], grads.h0, d_c_prev, grads.kernel, grads.recurrent_kernel,
            grads.bias)


def lstm_step_backward_cases(seed: int = 304, sizes=((1, 1, 1), (2, 3, 4), (3, 2, 5))
                             ) -> list[Case]:
    """(batch, features, units) -> the six gradients of one LSTM step, given the gradients
    d_h, d_c (batch, units) arriving at h_t and c_t: (d_x_t, d_h_prev, d_c_prev, d_kernel,
    d_recurrent_kernel, d_bias), with two typical mistakes as named wrong answers."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        args = (rng.normal(size=(batch, units)), rng.normal(size=(batch, units)),
                rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(size=(batch, units)), *_lstm_weights(rng, features, units))
        mistakes = {
            "the gradient reaching c_t must also include the path through h_t = o * tanh(c_t): "
            "add d_h * o * (1 - tanh(c_t)**2) to d_c": _lstm_step_backward(*args, through_h=False),
            "d_c_prev is missing the forget gate: c_t = f * c_prev + i * g, so d_c_prev = "
            "d_c_total * f": _lstm_step_backward(*args, forget=False)}
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          _lstm_step_backward(*args), mistakes=mistakes))
    return cases


def forget_gate_cases(seed: int = 303, sizes=((1, 1, 1), (2, 3, 4), (4, 2, 3))) -> list[Case]:
    """(batch, features, units) -> the forget gate f_t from the Keras weight slices."""
    from course_lib.scratch import lstm_gates

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        x_t, h_prev = rng.normal(size=(batch, features)), rng.normal(size=(batch, units))
        weights = _lstm_weights(rng, features, units)
        forget = lstm_gates(x_t @ weights[0] + h_prev @ weights[1] + weights[2])[1]
        cases.append(Case(f"batch={batch}, features={features}, units={units}",
                          (x_t, h_prev, *weights), forget))
    return cases


def gru_step_cases(seed: int = 401, sizes=((1, 1, 1), (2, 3, 4), (3, 2, 5))) -> list[Case]:
    """(batch, features, units) -> ``scratch.gru_step`` (reset_after=True)."""
    from course_lib.scratch import gru_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        args = (rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(scale=0.5, size=(features, 3 * units)),
                rng.normal(scale=0.5, size=(units, 3 * units)), rng.normal(size=(2, 3 * units)))
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          gru_step(*args)))
    return cases


def gru_param_cases(seed: int = 0, sizes=((1, 1, True), (3, 4, False), (32, 64, True),
                                          (32, 64, False))) -> list[Case]:
    """(features, units, reset_after) -> ``count_params()`` of ``keras.layers.GRU``."""
    import keras

    cases = []
    for features, units, reset_after in sizes:
        layer = keras.layers.GRU(units, reset_after=reset_after)
        layer.build((None, None, features))
        cases.append(Case(f"features={features}, units={units}, reset_after={reset_after}",
                          (features, units, reset_after), int(layer.count_params())))
    return cases


def window_cases(seed: int | None = None,
                 sizes=((3, 1, 3, 10), (5, 2, 10, 20), (8, 4, 30, 40))) -> list[Case]:
    """(window, horizon, first target, end) -> ``forecast.window_arrays`` of a series: a sine
    wave (``seed`` None) or 60 random values."""
    from course_lib.forecast import window_arrays

    series = (np.round(np.sin(np.arange(40) / 3) * 10, 2) if seed is None
              else np.random.default_rng(seed).normal(size=60).round(3))
    return [Case(f"window={w}, horizon={h}, targets from {start} to {end}",
                 (series, w, h, start, end), window_arrays(series, w, h, start, end))
            for w, h, start, end in sizes]


def _ridge_fit_shrinking_the_constant(inputs, targets, ridge):
    """The typical mistake of ex_4_4: the ridge penalty on the constant too."""
    design = np.hstack([inputs, np.ones((len(inputs), 1))])
    return np.linalg.solve(design.T @ design + ridge * np.eye(design.shape[1]),
                           design.T @ targets)


def ridge_ar_cases(seed: int = 404, sizes=((30, 4, 1, 0.0), (50, 6, 3, 1.0), (80, 12, 4, 10.0),
                                           (9, 8, 2, 0.5))) -> list[Case]:
    """(windows, window, horizon, ridge) -> the weights (window + 1, horizon) of the direct
    linear AR model (``forecast.LinearAutoregression.fit``): least squares with a constant
    (last row) and a ridge penalty on every weight but the constant. The series has a large
    mean, so shrinking the constant is visibly wrong; 9 windows of 8 values need the penalty."""
    from course_lib.forecast import LinearAutoregression

    rng = np.random.default_rng(seed)
    cases = []
    for windows, window, horizon, ridge in sizes:
        series = 50 + np.cumsum(rng.normal(size=windows + window + horizon))
        starts = range(window, window + windows)
        inputs = np.stack([series[s - window:s] for s in starts])
        targets = np.stack([series[s:s + horizon] for s in starts])
        mistakes = {}
        if ridge:
            mistakes["the constant (last row) is shrunk too: leave its diagonal entry of the "
                     "penalty at 0, only the window's weights are penalised"] = (
                _ridge_fit_shrinking_the_constant(inputs, targets, ridge))
        expected = LinearAutoregression.fit(inputs, targets, ridge).weights
        cases.append(Case(f"windows={windows}, window={window}, horizon={horizon}, "
                          f"ridge={ridge}", (inputs, targets, ridge), expected,
                          mistakes=mistakes))
    return cases


def merge_shape_cases(seed: int = 0, sizes=(("concat", 2, 5, 3, True), ("sum", 4, 7, 6, True),
                                            ("ave", 1, 3, 2, False), ("mul", 3, 4, 5, False))
                      ) -> list[Case]:
    """(merge_mode, batch, time, units, return_sequences) -> the output shape of a
    ``Bidirectional(GRU)``, measured on Keras."""
    import keras

    cases = []
    for merge_mode, batch, time, units, sequences in sizes:
        layer = keras.layers.Bidirectional(keras.layers.GRU(units, return_sequences=sequences),
                                           merge_mode=merge_mode)
        shape = tuple(int(d) for d in layer(np.zeros((batch, time, 2), "float32")).shape)
        cases.append(Case(f"merge_mode={merge_mode}, batch={batch}, time={time}, "
                          f"units={units}, return_sequences={sequences}",
                          (merge_mode, batch, time, units, sequences), shape))
    return cases


def masked_mean_cases(seed: int = 502, sizes=((1, 3, 1), (2, 5, 3), (4, 6, 2))) -> list[Case]:
    """(batch, time, features) -> the mean over each row's unmasked steps."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, time, features in sizes:
        values = rng.normal(size=(batch, time, features))
        lengths = rng.integers(1, time + 1, size=batch)
        mask = np.arange(time)[None, :] < lengths[:, None]
        expected = np.stack([values[b, : lengths[b]].mean(axis=0) for b in range(batch)])
        cases.append(Case(f"batch={batch}, time={time}, lengths={lengths.tolist()}",
                          (values, mask), expected))
    return cases


def _char_cnn(char_vectors, kernel, bias, padding="same", pool="max", relu=True):
    """NumPy reference of the char-CNN word features of ``models.char_aware_tagger``:
    (batch, words, chars, dim) with kernel (width, dim, filters), bias (filters,) ->
    (batch, words, filters)."""
    width = kernel.shape[0]
    if padding == "same":
        side = (width - 1) // 2
        char_vectors = np.pad(char_vectors, ((0, 0), (0, 0), (side, width - 1 - side), (0, 0)))
    positions = char_vectors.shape[2] - width + 1
    windows = np.stack([char_vectors[:, :, p:p + width] for p in range(positions)], axis=2)
    features = np.einsum("bwpkd,kdf->bwpf", windows, kernel) + bias
    if relu:
        features = np.maximum(features, 0.0)
    return features.max(axis=2) if pool == "max" else features.mean(axis=2)


def char_cnn_cases(seed: int = 504, sizes=((1, 1, 4, 2, 3, 1), (2, 3, 6, 4, 3, 5),
                                           (3, 2, 8, 3, 5, 4))) -> list[Case]:
    """(batch, words, chars, dim, width, filters) -> the spelling features of each word:
    a width-``width`` convolution along its characters ('same' padding with zeros), ReLU,
    max over the character positions."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, words, chars, dim, width, filters in sizes:
        args = (rng.normal(size=(batch, words, chars, dim)),
                rng.normal(size=(width, dim, filters)), rng.normal(size=filters) - 3.0)
        mistakes = {"the convolution has no padding ('valid'): pad (width - 1) // 2 zero vectors "
                    "at each end so that every character is the centre of a window":
                    _char_cnn(*args, padding="valid"),
                    "this averages over the characters: the features are the max over them":
                    _char_cnn(*args, pool="mean"),
                    "the ReLU is missing: max(0, conv + bias) before the max over characters":
                    _char_cnn(*args, relu=False)}
        cases.append(Case(f"batch={batch}, words={words}, chars={chars}, dim={dim}, "
                          f"width={width}, filters={filters}", args, _char_cnn(*args),
                          mistakes=mistakes))
    return cases


def padding_cases(seed: int | None = None,
                  sizes=(((), 4), ((5, 12), 4), ((5, 12, 30), 2), ((100,), 10))) -> list[Case]:
    """(boundaries, batch_size) -> ``text.padding_share`` of ten fixed lengths (``seed`` None)
    or 37 random ones."""
    from course_lib.text import padding_share

    lengths = ([3, 3, 4, 9, 10, 10, 11, 25, 26, 40] if seed is None else
               [int(n) for n in np.random.default_rng(seed).integers(1, 60, size=37)])
    return [Case(f"{len(lengths)} lengths, boundaries={list(b)}, batch_size={n}",
                 (lengths, list(b), n), padding_share(lengths, list(b), n)) for b, n in sizes]


def additive_score_cases(seed: int = 601, sizes=((1, 1, 1, 1, 1), (2, 4, 3, 5, 2),
                                                 (3, 6, 4, 4, 3))) -> list[Case]:
    """(batch, source_time, query_units, key_units, hidden) -> ``v · tanh(q W_q + k W_k)``."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, source_time, query_units, key_units, hidden in sizes:
        query = rng.normal(size=(batch, query_units))
        keys = rng.normal(size=(batch, source_time, key_units))
        w_query = rng.normal(size=(query_units, hidden))
        w_key = rng.normal(size=(key_units, hidden))
        v = rng.normal(size=(hidden,))
        expected = np.tanh((query @ w_query)[:, None, :] + keys @ w_key) @ v
        cases.append(Case(f"batch={batch}, source_time={source_time}, hidden={hidden}",
                          (query, keys, w_query, w_key, v), expected))
    return cases


def masked_softmax_cases(seed: int = 602, sizes=((1, 3, 1.0), (3, 5, 1.0), (2, 6, 500.0))
                         ) -> list[Case]:
    """(batch, source_time, score scale) -> softmax over the True positions, 0 elsewhere."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, source_time, scale in sizes:
        scores = rng.normal(size=(batch, source_time)) * scale
        lengths = rng.integers(1, source_time + 1, size=batch)
        mask = np.arange(source_time)[None, :] < lengths[:, None]
        expected = np.zeros_like(scores)
        for row, n in enumerate(lengths):
            shifted = np.exp(scores[row, :n] - scores[row, :n].max())
            expected[row, :n] = shifted / shifted.sum()
        cases.append(Case(f"batch={batch}, lengths={lengths.tolist()}, score scale={scale:g}",
                          (scores, mask), expected))
    return cases


def beam_step_cases(seed: int = 603, sizes=((1, 5, 1), (2, 4, 2), (3, 6, 3), (3, 3, 5))
                    ) -> list[Case]:
    """(beams, vocab, beam_width) -> the best extensions (scores, parents, tokens)."""
    rng = np.random.default_rng(seed)
    cases = []
    for beams, vocab, width in sizes:
        scores = np.sort(rng.normal(size=beams) - 3.0)[::-1]
        log_probs = np.log(rng.dirichlet(np.ones(vocab), size=beams))
        flat = (scores[:, None] + log_probs).ravel()
        best = sorted(range(flat.size), key=lambda i: (-flat[i], i))[:width]
        expected = (flat[best], np.array(best) // vocab, np.array(best) % vocab)
        cases.append(Case(f"beams={beams}, vocab={vocab}, beam_width={width}",
                          (scores, log_probs, width), expected))
    return cases


def _ngrams(tokens: list, order: int) -> Counter:
    return Counter(tuple(tokens[start:start + order])
                   for start in range(len(tokens) - order + 1))


def _bleu(hypotheses, references, clip: bool = True, brevity: bool = True) -> float:
    """Corpus BLEU-4 (0-100, no smoothing) from n-gram counts; ``clip`` and ``brevity`` off
    give two typical mistakes (see ex_6_4)."""
    matches, totals = np.zeros(4), np.zeros(4)
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        for order in range(1, 5):
            hyp, ref = _ngrams(hypothesis, order), _ngrams(reference, order)
            matched = (hyp & ref) if clip else Counter({g: n for g, n in hyp.items() if g in ref})
            matches[order - 1] += sum(matched.values())
            totals[order - 1] += max(len(hypothesis) - order + 1, 0)
    if not matches.all():
        return 0.0
    hyp_length = sum(len(h) for h in hypotheses)
    ref_length = sum(len(r) for r in references)
    penalty = min(1.0, float(np.exp(1 - ref_length / hyp_length))) if brevity else 1.0
    return 100 * penalty * float(np.exp(np.mean(np.log(matches / totals))))


def bleu_cases(seed: int = 604, sizes=((1, 8, 5), (6, 10, 4), (20, 6, 6), (3, 9, 30))
               ) -> list[Case]:
    """(sentences, mean length, vocabulary size) -> corpus BLEU of random token sentences
    against noisy copies (some shorter, so the brevity penalty acts), as sacrebleu computes it
    (``tokenize="none"``, no smoothing). A large vocabulary leaves no 4-gram match: BLEU 0."""
    import sacrebleu

    rng = np.random.default_rng(seed)
    cases = []
    for sentences, length, vocab in sizes:
        words = [f"w{i}" for i in range(vocab)]
        references, hypotheses = [], []
        for _ in range(sentences):
            reference = list(rng.choice(words, size=max(1, length + rng.integers(-2, 3))))
            hypothesis = [w if rng.random() < 0.7 else str(rng.choice(words)) for w in reference]
            cut = rng.integers(0, 3)  # drop up to two tokens at the end
            references.append([str(w) for w in reference])
            hypotheses.append([str(w) for w in hypothesis[:len(hypothesis) - cut] or
                               hypothesis[:1]])
        expected = sacrebleu.corpus_bleu([" ".join(h) for h in hypotheses],
                                         [[" ".join(r) for r in references]], tokenize="none",
                                         smooth_method="none", force=True).score
        mean_of_sentences = float(np.mean([_bleu([h], [r])
                                           for h, r in zip(hypotheses, references, strict=True)]))
        mistakes = {"n-gram counts are not clipped: a hypothesis n-gram counts at most as often "
                    "as it occurs in the reference": _bleu(hypotheses, references, clip=False),
                    "the brevity penalty exp(1 - r/c) is missing (c < r here)":
                    _bleu(hypotheses, references, brevity=False),
                    "this averages sentence BLEUs: corpus BLEU sums matches and totals over all "
                    "sentences first, then takes the precisions": mean_of_sentences}
        cases.append(Case(f"sentences={sentences}, length~{length}, vocabulary={vocab}",
                          (hypotheses, references), float(expected),
                          mistakes={k: v for k, v in mistakes.items()
                                    if not np.isclose(v, expected)}))
    return cases


class _TableDecoder:
    """A bigram "model" for :func:`course_lib.decoding.beam_search`: the next token's
    log-probabilities depend on the last token only, ``log_table[last]`` (vocab,)."""

    def __init__(self, log_table: np.ndarray):
        self.log_table = log_table

    def start_state(self, source_ids: np.ndarray) -> list[np.ndarray]:
        return [np.zeros((len(source_ids), 1))]

    def step(self, token_ids, state):
        return self.log_table[np.asarray(token_ids)], state


def _table_beam(log_table, start_id, end_id, max_length, beam_width, alpha):
    from course_lib.decoding import beam_search

    ids, scores = beam_search(_TableDecoder(log_table), np.zeros((1, 1), np.int32), start_id,
                              end_id, max_length, beam_width, alpha)
    return np.array([int(i) for i in ids[0, 0] if i != 0]), float(scores[0, 0])


def beam_search_cases(seed: int = 605, sizes=((5, 1, 4, 0.0), (6, 3, 6, 0.6), (8, 4, 8, 1.0),
                                              (4, 2, 3, 0.6))) -> list[Case]:
    """(vocab, beam_width, max_length, alpha) -> (tokens, score) of the best output of a full
    beam search over a random bigram table (start id 1, end id 2, id 0 padding, never output):
    tokens after the start, the end token included when reached (ids 0 and 1 never
    follow); score = log-probability /
    ((5 + len(tokens)) / 6) ** alpha. Same rules as ``course_lib.decoding.beam_search``."""
    rng = np.random.default_rng(seed)
    cases = []
    for vocab, width, max_length, alpha in sizes:
        logits = rng.normal(scale=1.5, size=(vocab, vocab))
        logits[:, 2] -= 1.0  # the end token a little less likely, so outputs are not too short
        logits[:, :2] = -np.inf  # padding and the start token are never output
        log_table = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        args = (log_table, 1, 2, max_length, width, alpha)
        expected = _table_beam(*args)
        mistakes = {}
        if alpha:
            raw_tokens, raw = _table_beam(*args[:5], 0.0)
            if compare((raw_tokens, raw), expected) is not None:
                mistakes["ranked by plain log-probability: divide each finished beam's score by "
                         "the length penalty ((5 + length) / 6) ** alpha before picking the "
                         "best"] = (raw_tokens, raw)
        cases.append(Case(f"vocab={vocab}, beam_width={width}, max_length={max_length}, "
                          f"alpha={alpha}", args, expected, mistakes=mistakes))
    return cases


def scaled_attention_cases(seed: int = 701, sizes=((1, 1, 2, 1, False), (2, 3, 4, 5, False),
                                                   (2, 4, 4, 8, True), (1, 2, 3, 2, True))
                           ) -> list[Case]:
    """(batch, query_time, key_time, depth, masked) -> (output, weights) of scaled dot-product
    attention."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, q_time, k_time, depth, masked in sizes:
        q, k, v = (rng.normal(size=(batch, t, depth)) * 3 for t in (q_time, k_time, k_time))
        mask = rng.random((batch, q_time, k_time)) < 0.7 if masked else None
        if masked:
            mask[..., 0] = True  # every query may attend to at least one key
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(depth)
        if masked:
            scores = np.where(mask, scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        label = f"batch={batch}, query_time={q_time}, key_time={k_time}, depth={depth}" + (
            ", with a mask" if masked else "")
        cases.append(Case(label, (q, k, v), (weights @ v, weights), {"mask": mask}))
    return cases


def _kv_step(x_t, keys, values, w_query, w_key, w_value, w_output, scale=True, self_too=True):
    """NumPy reference of one multi-head attention step against a KV cache (see ex_7_4)."""
    query = np.einsum("bd,dhk->bhk", x_t, w_query)
    new_keys = np.concatenate([keys, np.einsum("bd,dhk->bhk", x_t, w_key)[:, None]], axis=1)
    new_values = np.concatenate([values, np.einsum("bd,dhk->bhk", x_t, w_value)[:, None]], 1)
    read_keys, read_values = (new_keys, new_values) if self_too else (keys, values)
    scores = np.einsum("bhk,bnhk->bhn", query, read_keys)
    if scale:
        scores = scores / np.sqrt(query.shape[-1])
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    context = np.einsum("bhn,bnhk->bhk", weights, read_values)
    return np.einsum("bhk,hkd->bd", context, w_output), new_keys, new_values


def kv_cache_step_cases(seed: int = 704, sizes=((2, 3, 8, 2, 4), (1, 0, 4, 1, 4),
                                                (3, 5, 6, 3, 2))) -> list[Case]:
    """(batch, past, d_model, heads, head_dim) -> one multi-head attention step of a new token
    against a cache of ``past`` keys and values: (output, keys, values)."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, past, d_model, heads, head_dim in sizes:
        x_t = rng.normal(size=(batch, d_model))
        keys, values = (rng.normal(size=(batch, past, heads, head_dim)) for _ in range(2))
        weights = [rng.normal(size=(d_model, heads, head_dim)) / np.sqrt(d_model)
                   for _ in range(3)] + [rng.normal(size=(heads, head_dim, d_model))]
        args = (x_t, keys, values, *weights)
        mistakes = {"the scores are not divided by sqrt(head_dim)":
                    _kv_step(*args, scale=False)}
        if past:
            mistakes["the new token must attend to itself too: append its key and value to the "
                     "cache before the softmax"] = _kv_step(*args, self_too=False)
        cases.append(Case(f"batch={batch}, past={past}, d_model={d_model}, heads={heads}, "
                          f"head_dim={head_dim}", args, _kv_step(*args), mistakes=mistakes))
    return cases


def _mha(x, w_query, w_key, w_value, w_output, causal, scale=True, mask=True):
    """NumPy reference of multi-head self-attention (see ex_7_5): x (batch, time, d_model),
    projections as in ex_7_4, -> (batch, time, d_model)."""
    query, key, value = (np.einsum("btd,dhk->bthk", x, w) for w in (w_query, w_key, w_value))
    scores = np.einsum("bqhk,bnhk->bhqn", query, key)
    if scale:
        scores = scores / np.sqrt(query.shape[-1])
    if causal and mask:
        time = x.shape[1]
        scores = np.where(np.tril(np.ones((time, time), bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bhqn,bnhk,hkd->bqd", weights, value, w_output)


def multi_head_cases(seed: int = 705, sizes=((1, 1, 4, 1, 4, False), (2, 5, 8, 2, 4, True),
                                             (2, 4, 6, 3, 2, False), (1, 6, 4, 2, 3, True))
                     ) -> list[Case]:
    """(batch, time, d_model, heads, head_dim, causal) -> multi-head self-attention of a whole
    sequence, output (batch, time, d_model), a causal mask when ``causal``."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, time, d_model, heads, head_dim, causal in sizes:
        x = rng.normal(size=(batch, time, d_model))
        weights = [rng.normal(size=(d_model, heads, head_dim)) / np.sqrt(d_model)
                   for _ in range(3)] + [rng.normal(size=(heads, head_dim, d_model))]
        args = (x, *weights, causal)
        mistakes = {"the scores are not divided by sqrt(head_dim)": _mha(*args, scale=False)}
        if causal:
            mistakes["causal=True: position t may attend to positions <= t only (set the other "
                     "scores to -inf before the softmax)"] = _mha(*args, mask=False)
        cases.append(Case(f"batch={batch}, time={time}, d_model={d_model}, heads={heads}, "
                          f"head_dim={head_dim}, causal={causal}", args, _mha(*args),
                          mistakes=mistakes))
    return cases


def causal_mask_cases(seed: int = 0, sizes=(1, 2, 5)) -> list[Case]:
    """length -> the (length, length) lower-triangular mask, as 0/1 floats."""
    from course_lib.transformer import causal_mask

    return [Case(f"length={n}", (n,), causal_mask(n).astype(float)) for n in sizes]


def encoding_cases(seed: int = 0, sizes=((1, 2), (4, 6), (50, 16))) -> list[Case]:
    """(length, depth) -> ``transformer.sinusoidal_encoding``."""
    from course_lib.transformer import sinusoidal_encoding

    return [Case(f"length={n}, depth={d}", (n, d), sinusoidal_encoding(n, d)) for n, d in sizes]


def scan_combine_cases(seed: int = 901, sizes=((1, 1), (2, 3), (4, 5))) -> list[Case]:
    """(batch, units) -> the scan's combine of two steps (a1, b1) then (a2, b2): (a1 a2,
    a2 b1 + b2)."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, units in sizes:
        a1, a2 = rng.uniform(0.1, 0.9, size=(2, batch, units))
        b1, b2 = rng.normal(size=(2, batch, units))
        mistakes = {"the order is swapped: the earlier step (a1, b1) is applied first, so its "
                    "b1 is scaled by the later a2": (a1 * a2, a1 * b2 + b1),
                    "b1 must be scaled by a2 (the later step decays what the earlier one "
                    "wrote)": (a1 * a2, b1 + b2)}
        cases.append(Case(f"batch={batch}, units={units}", ((a1, b1), (a2, b2)),
                          (a1 * a2, a2 * b1 + b2), mistakes=mistakes))
    return cases


def _min_gru_step(x_t, h_prev, kernel, bias, swap=False, squash=False):
    units = h_prev.shape[-1]
    projected = x_t @ kernel + bias
    z = 1 / (1 + np.exp(-projected[:, :units]))
    candidate = projected[:, units:]
    if squash:
        candidate = np.tanh(candidate)
    return z * h_prev + (1 - z) * candidate if swap else (1 - z) * h_prev + z * candidate


def min_gru_step_cases(seed: int = 902, sizes=((1, 2, 3), (4, 3, 2), (2, 5, 6))) -> list[Case]:
    """(batch, features, units) -> one minGRU step, h_t (batch, units), with kernel (features,
    2 units) = [W_z | W_h] and bias (2 units,), the layout of ``minimal_rnn.MinGRU``."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in sizes:
        x_t, h_prev = rng.normal(size=(batch, features)), rng.normal(size=(batch, units))
        kernel, bias = rng.normal(size=(features, 2 * units)), rng.normal(size=2 * units)
        args = (x_t, h_prev, kernel, bias)
        mistakes = {"z and 1 - z are swapped: z is the share of the *new* candidate":
                    _min_gru_step(*args, swap=True),
                    "minGRU's candidate is linear, x_t W_h + b_h: no tanh (that would be the "
                    "GRU's)": _min_gru_step(*args, squash=True)}
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          _min_gru_step(*args), mistakes=mistakes))
    return cases


def _log_scan(log_a, log_b):
    """log h_t for h_t = a_t h_{t-1} + b_t, h_0 = 0, along axis 1: with A_t = sum of log a up
    to t, log h_t = A_t + log sum_{s<=t} exp(log b_s - A_s)."""
    cumulative = np.cumsum(log_a, axis=1)
    return cumulative + np.logaddexp.accumulate(log_b - cumulative, axis=1)


def log_scan_cases(seed: int = 903, sizes=((1, 1, 1, 1.0), (2, 7, 3, 1.0), (3, 40, 2, 400.0))
                   ) -> list[Case]:
    """(batch, time, units, scale) -> log h (batch, time, units) of h_t = a_t h_{t-1} + b_t
    (h_0 = 0) from log a and log b; ``scale`` stretches the logs, so that with scale 400
    computing exp(log a) or exp(log b) underflows float64 to 0."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, time, units, scale in sizes:
        log_a = scale * np.log(rng.uniform(0.05, 0.95, size=(batch, time, units)))
        log_b = scale * rng.normal(-1.0, 1.0, size=(batch, time, units))
        mistakes = {"the decays are missing: log h_t is not a log-sum-exp of log b alone":
                    np.logaddexp.accumulate(log_b, axis=1)}
        cases.append(Case(f"batch={batch}, time={time}, units={units}, scale={scale}",
                          (log_a, log_b), _log_scan(log_a, log_b), mistakes=mistakes))
    return cases


def replica_loss_cases(seed: int = 1001, sizes=((1, 4), (2, 8), (4, 32), (3, 9))
                       ) -> list[Case]:
    """(replicas, global batch) -> one replica's loss for its share of the global batch: its
    squared errors summed and divided by the *global* batch size
    (``tf.nn.compute_average_loss``)."""
    rng = np.random.default_rng(seed)
    cases = []
    for replicas, global_batch in sizes:
        share = -(-global_batch // replicas)  # the first replicas take the remainder
        errors = rng.uniform(0, 2, size=share)
        mistakes = {"this is the mean over the replica's own examples: divide the sum by the "
                    "global batch, or the summed gradients come out `replicas` times too large":
                    float(errors.mean())} if replicas > 1 else {}
        cases.append(Case(f"replicas={replicas}, global_batch={global_batch}",
                          (errors, global_batch), float(errors.sum() / global_batch),
                          mistakes=mistakes))
    return cases


class _TinyStep:
    """A NumPy recurrent step with the exported step's signature: run(token (batch,), [state
    (batch, units)]) -> (logits (batch, vocab), [state])."""

    def __init__(self, rng, vocab: int, units: int):
        self.embedding = rng.normal(size=(vocab, units))
        self.recurrent = rng.normal(size=(units, units)) / np.sqrt(units)
        self.output = rng.normal(size=(units, vocab))

    def __call__(self, token, states):
        state = np.tanh(self.embedding[np.asarray(token)] + states[0] @ self.recurrent)
        return state @ self.output, [state]


def _greedy_stream(run, first_token, states, steps, feed_state=True, include_first=False):
    tokens, token, current = [], np.asarray(first_token), list(states)
    for _ in range(steps):
        logits, new_states = run(token, current)
        current = new_states if feed_state else current
        token = np.argmax(logits, axis=-1)
        tokens.append(token)
    result = np.stack(tokens, axis=1)
    return np.concatenate([np.asarray(first_token)[:, None], result], 1) if include_first \
        else result


def greedy_stream_cases(seed: int = 1002, sizes=((1, 5, 4, 3), (3, 7, 6, 10), (2, 4, 3, 1))
                        ) -> list[Case]:
    """(batch, vocab, units, steps) -> the greedy continuation (batch, steps) of a step
    function ``run`` from ``first_token`` (batch,) and its states."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, vocab, units, steps in sizes:
        run = _TinyStep(rng, vocab, units)
        first = rng.integers(0, vocab, size=batch)
        states = [rng.normal(size=(batch, units))]
        args = (run, first, states, steps)
        mistakes = {"the new state must be fed back: each call gets the state the previous "
                    "call returned": _greedy_stream(*args, feed_state=False),
                    "return the generated tokens only, not the first token":
                    _greedy_stream(*args, include_first=True)}
        cases.append(Case(f"batch={batch}, vocab={vocab}, units={units}, steps={steps}", args,
                          _greedy_stream(*args), mistakes=mistakes))
    return cases


def _scaled_rate(base_rate, base_batch, global_batch, step, warmup_steps, rule="linear",
                 warmup=True):
    factor = global_batch / base_batch
    target = base_rate * (factor if rule == "linear" else np.sqrt(factor))
    if warmup and step < warmup_steps:
        return float(base_rate + (target - base_rate) * step / warmup_steps)
    return float(target)


def scaled_rate_cases(seed: int = 1003, sizes=((1e-3, 64, 512, 0, 100), (1e-3, 64, 512, 50, 100),
                                               (1e-2, 32, 256, 500, 100), (3e-4, 128, 128, 7, 10),
                                               (1e-3, 64, 1024, 99, 100))) -> list[Case]:
    """(base rate, base batch, global batch, step, warm-up steps) -> the learning rate at
    ``step``: the base rate times global/base batch (linear scaling, Goyal et al. 2017),
    reached by a linear warm-up from the base rate over the first ``warmup_steps`` steps."""
    cases = []
    for args in sizes:
        mistakes = {}
        if args[1] != args[2]:  # (a mistake equal to the answer is never reported)
            mistakes["during the warm-up (step < warmup_steps) the rate ramps linearly from the "
                     "base rate to the scaled one"] = _scaled_rate(*args, warmup=False)
            mistakes["the linear rule multiplies by global_batch / base_batch, not by its square "
                     "root"] = _scaled_rate(*args, rule="sqrt")
        label = "base_rate={}, base_batch={}, global_batch={}, step={}, warmup_steps={}"
        cases.append(Case(label.format(*args), args, _scaled_rate(*args), mistakes=mistakes))
    return cases


# --------------------------------------------------------------------------------------------
# The table of exercises
# --------------------------------------------------------------------------------------------


def _same(answer: Any) -> Any:
    return answer


def _as_tuple(answer: Any) -> tuple:
    return tuple(answer)


def _as_arrays(answer: Any) -> tuple:
    return tuple(np.asarray(a) for a in answer)


def _as_ints(answer: Any) -> tuple:
    return tuple(int(d) for d in answer)


def _as_beam(answer: Any) -> tuple:
    tokens, score = answer
    return np.asarray(tokens, dtype=np.int64), float(score)


def _as_floats(answer: Any) -> np.ndarray:
    return np.asarray(answer, dtype=float)


@dataclass(frozen=True)
class Exercise:
    """One exercise: the signature asked for, how its cases are made, how a student's return
    value is read, and the library functions that are its reference answer (what calling
    instead of solving would use)."""

    id: str
    signature: str
    cases: Callable[..., list[Case]]  # cases(seed=..., sizes=...) -> [Case]
    references: tuple[str, ...] = ()
    adapt: Callable[[Any], Any] = _same
    atol: float = 1e-6


EXERCISES: dict[str, Exercise] = {exercise.id: exercise for exercise in [
    Exercise("ex_1_1", "rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t",
             rnn_step_cases, ("course_lib.scratch.rnn_step", "course_lib.scratch.rnn_forward")),
    Exercise("ex_1_2", "param_count(features, units) -> int (SimpleRNN)", keras_param_cases,
             ("course_lib.models.recurrent_param_count",)),
    Exercise("ex_1_3", "softmax(logits, temperature) -> probabilities", temperature_cases,
             ("course_lib.decoding.softmax_with_temperature",)),
    Exercise("ex_2_1", "bptt_step(d_h, h_t, h_prev, x_t, kernel, recurrent_kernel) -> "
             "(d_kernel, d_recurrent_kernel, d_bias, d_x_t, d_h_prev)", bptt_step_cases,
             ("course_lib.scratch.rnn_backward",), _as_tuple),
    Exercise("ex_2_2", "jacobian_norm(states, recurrent_kernel, start, end) -> float",
             jacobian_norm_cases),
    Exercise("ex_2_3", "clip(grads, max_norm) -> list of arrays", clip_cases,
             ("tensorflow.clip_by_global_norm",), _as_tuple),
    Exercise("ex_2_4", "rnn_backward(d_states, x, h0, states, kernel, recurrent_kernel) -> "
             "(d_kernel, d_recurrent_kernel, d_bias, d_x, d_h0)", bptt_loop_cases,
             ("course_lib.scratch.rnn_backward",), _as_tuple),
    Exercise("ex_3_1", "lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias) -> "
             "(h_t, c_t)", lstm_step_cases,
             ("course_lib.scratch.lstm_step", "course_lib.scratch.lstm_forward"), _as_tuple),
    Exercise("ex_3_2", "param_count(features, units) -> int (LSTM)", lstm_param_cases,
             ("course_lib.models.recurrent_param_count",)),
    Exercise("ex_3_3", "forget_gate(x_t, h_prev, kernel, recurrent_kernel, bias) -> f_t",
             forget_gate_cases, ("course_lib.scratch.lstm_gates", "course_lib.scratch.lstm_step")),
    Exercise("ex_3_4", "lstm_step_backward(d_h, d_c, x_t, h_prev, c_prev, kernel, "
             "recurrent_kernel, bias) -> (d_x_t, d_h_prev, d_c_prev, d_kernel, "
             "d_recurrent_kernel, d_bias)", lstm_step_backward_cases,
             ("course_lib.scratch.lstm_backward",), _as_tuple),
    Exercise("ex_4_1", "gru_step(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t",
             gru_step_cases, ("course_lib.scratch.gru_step", "course_lib.scratch.gru_forward")),
    Exercise("ex_4_2", "param_count(features, units, reset_after) -> int (GRU)",
             gru_param_cases, ("course_lib.models.recurrent_param_count",)),
    Exercise("ex_4_3", "make_windows(series, window, horizon, first_target, end) -> "
             "(inputs, targets)", window_cases,
             ("course_lib.forecast.window_arrays", "course_lib.forecast.windowed_dataset"),
             _as_tuple),
    Exercise("ex_4_4", "fit_linear_ar(inputs, targets, ridge) -> weights (window + 1, horizon)",
             ridge_ar_cases, ("course_lib.forecast.LinearAutoregression",), atol=1e-5),
    Exercise("ex_5_1", "output_shape(merge_mode, batch, time, units, return_sequences) -> tuple",
             merge_shape_cases, (), _as_ints),
    Exercise("ex_5_2", "masked_mean(values, mask) -> (batch, features)", masked_mean_cases),
    Exercise("ex_5_3", "padding_share(lengths, boundaries, batch_size) -> float", padding_cases,
             ("course_lib.text.padding_share",)),
    Exercise("ex_5_4", "char_cnn(char_vectors, kernel, bias) -> (batch, words, filters)",
             char_cnn_cases, ("course_lib.models.char_aware_tagger",), atol=1e-5),
    Exercise("ex_6_1", "additive_score(query, keys, w_query, w_key, v) -> (batch, source_time)",
             additive_score_cases, ("course_lib.layers.AdditiveAttention",)),
    Exercise("ex_6_2", "masked_softmax(scores, mask) -> weights", masked_softmax_cases,
             ("course_lib.layers.masked_softmax",)),
    Exercise("ex_6_3", "beam_step(scores, log_probs, beam_width) -> (scores, parents, tokens)",
             beam_step_cases, ("course_lib.decoding.beam_search",), _as_arrays),
    Exercise("ex_6_4", "corpus_bleu(hypotheses, references) -> float (0-100, BLEU-4)",
             bleu_cases, ("course_lib.metrics.corpus_bleu", "sacrebleu.corpus_bleu",
                          "sacrebleu.sentence_bleu"), float),
    Exercise("ex_6_5", "beam_search(log_table, start_id, end_id, max_length, beam_width, alpha)"
             " -> (tokens, score)", beam_search_cases, ("course_lib.decoding.beam_search",),
             _as_beam),
    Exercise("ex_7_1", "attention(q, k, v, mask=None) -> (output, weights)",
             scaled_attention_cases, (), _as_arrays, atol=1e-5),
    Exercise("ex_7_2", "causal_mask(length) -> (length, length) bool", causal_mask_cases,
             ("course_lib.transformer.causal_mask", "course_lib.transformer.attention_mask"),
             _as_floats),
    Exercise("ex_7_3", "positional_encoding(length, depth) -> (length, depth)", encoding_cases,
             ("course_lib.transformer.sinusoidal_encoding",
              "course_lib.transformer.SinusoidalPositionalEncoding"), atol=1e-5),
    Exercise("ex_7_4", "kv_cache_step(x_t, keys, values, w_query, w_key, w_value, w_output) -> "
             "(output, keys, values)", kv_cache_step_cases,
             ("course_lib.transformer.TransformerDecoderBlock",), _as_arrays, atol=1e-5),
    Exercise("ex_7_5", "multi_head_attention(x, w_query, w_key, w_value, w_output, causal) -> "
             "(batch, time, d_model)", multi_head_cases,
             ("keras.layers.MultiHeadAttention", "course_lib.transformer.TransformerDecoderBlock",
              "course_lib.transformer.TransformerEncoderBlock"), atol=1e-5),
    Exercise("ex_9_1", "combine(earlier, later) -> (a, b), each pair (a, b) of (batch, units)",
             scan_combine_cases, ("course_lib.scan.combine", "course_lib.scan.linear_recurrence"),
             _as_arrays),
    Exercise("ex_9_2", "min_gru_step(x_t, h_prev, kernel, bias) -> h_t (batch, units)",
             min_gru_step_cases, ("course_lib.minimal_rnn.MinGRU",)),
    Exercise("ex_9_3", "log_space_states(log_a, log_b) -> log h (batch, time, units)",
             log_scan_cases, ("course_lib.scan.log_linear_recurrence",
                              "course_lib.scan.log_combine"), atol=1e-6),
    Exercise("ex_10_1", "replica_loss(errors, global_batch) -> float", replica_loss_cases,
             ("tensorflow.nn.compute_average_loss",), float),
    Exercise("ex_10_2", "greedy_stream(run, first_token, states, steps) -> (batch, steps) ids",
             greedy_stream_cases, ("course_lib.serving.greedy_continuation",
                                   "course_lib.serving.stream", "course_lib.decoding.sample_ids"),
             _as_floats),
    Exercise("ex_10_3", "scaled_learning_rate(base_rate, base_batch, global_batch, step, "
             "warmup_steps) -> float", scaled_rate_cases, (), float),
]}


def check(exercise_id: str, function: Callable, strict: bool | None = None) -> bool:
    """Run the self-check of ``exercise_id`` on ``function``: :func:`run_check` on the
    exercise's default cases, reading each return value with its ``adapt``."""
    exercise = EXERCISES[exercise_id]
    return run_check(exercise.id, lambda *args, **kwargs: exercise.adapt(function(*args, **kwargs)),
                     exercise.cases(), strict, atol=exercise.atol)


def _self_check(exercise_id: str) -> Callable[..., None]:
    def ex(function: Callable, strict: bool | None = None) -> None:
        check(exercise_id, function, strict)

    ex.__name__ = exercise_id
    ex.__doc__ = f"Check ``{EXERCISES[exercise_id].signature}`` (prints ✓ or a hint)."
    return ex


# ``checks.ex_3_1(lstm_step)`` and so on, one per exercise of the table
ex_1_1, ex_1_2, ex_1_3 = (_self_check(f"ex_1_{n}") for n in (1, 2, 3))
ex_2_1, ex_2_2, ex_2_3, ex_2_4 = (_self_check(f"ex_2_{n}") for n in (1, 2, 3, 4))
ex_3_1, ex_3_2, ex_3_3, ex_3_4 = (_self_check(f"ex_3_{n}") for n in (1, 2, 3, 4))
ex_4_1, ex_4_2, ex_4_3, ex_4_4 = (_self_check(f"ex_4_{n}") for n in (1, 2, 3, 4))
ex_5_1, ex_5_2, ex_5_3, ex_5_4 = (_self_check(f"ex_5_{n}") for n in (1, 2, 3, 4))
ex_6_1, ex_6_2, ex_6_3, ex_6_4, ex_6_5 = (_self_check(f"ex_6_{n}") for n in range(1, 6))
ex_7_1, ex_7_2, ex_7_3, ex_7_4, ex_7_5 = (_self_check(f"ex_7_{n}") for n in range(1, 6))
ex_9_1, ex_9_2, ex_9_3 = (_self_check(f"ex_9_{n}") for n in range(1, 4))
ex_10_1, ex_10_2, ex_10_3 = (_self_check(f"ex_10_{n}") for n in range(1, 4))
