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


def _rnn_step_cases(seed: int = 101) -> list[Case]:
    from course_lib.scratch import rnn_step

    rng = np.random.default_rng(seed)
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


def _keras_param_cases(layer_name: str, shapes: list[tuple[int, int]]) -> list[Case]:
    """(features, units) -> ``count_params()`` of ``keras.layers.<layer_name>(units)``."""
    import keras

    cases = []
    for features, units in shapes:
        layer = getattr(keras.layers, layer_name)(units)
        layer.build((None, None, features))
        cases.append(Case(f"features={features}, units={units}", (features, units),
                          int(layer.count_params())))
    return cases


def ex_1_2(param_count_fn: Callable, strict: bool | None = None) -> None:
    """Check ``param_count_fn(features, units) -> int`` against Keras' ``count_params()``."""
    run_check("ex_1_2", param_count_fn,
              _keras_param_cases("SimpleRNN", [(1, 1), (3, 4), (65, 256)]), strict)


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


# --------------------------------------------------------------------------------------------
# notebook 02
# --------------------------------------------------------------------------------------------


def _bptt_step_cases(seed: int = 202) -> list[Case]:
    from course_lib.scratch import rnn_backward, rnn_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in [(1, 1, 1), (2, 3, 4), (4, 2, 5)]:
        x_t, h_prev = rng.normal(size=(batch, features)), rng.normal(size=(batch, units))
        kernel, recurrent = rng.normal(size=(features, units)), rng.normal(size=(units, units))
        h_t = rnn_step(x_t, h_prev, kernel, recurrent, rng.normal(size=units))
        d_h = rng.normal(size=(batch, units))
        grads = rnn_backward(d_h[:, None], x_t[:, None], h_prev, h_t[:, None], kernel, recurrent)
        expected = (grads.kernel, grads.recurrent_kernel, grads.bias, grads.x[:, 0], grads.h0)
        cases.append(Case(f"batch={batch}, features={features}, units={units}",
                          (d_h, h_t, h_prev, x_t, kernel, recurrent), expected))
    return cases


def ex_2_1(bptt_step_fn: Callable, strict: bool | None = None) -> None:
    """Check ``bptt_step_fn(d_h, h_t, h_prev, x_t, kernel, recurrent_kernel)`` ->
    (d_kernel, d_recurrent_kernel, d_bias, d_x_t, d_h_prev)."""
    run_check("ex_2_1", lambda *args: tuple(bptt_step_fn(*args)), _bptt_step_cases(), strict)


def _jacobian_norm_cases(seed: int = 203) -> list[Case]:
    from course_lib.scratch import rnn_forward

    rng = np.random.default_rng(seed)
    cases = []
    for units, time, start, end in [(1, 3, 0, 2), (4, 8, 2, 7), (6, 12, 0, 11), (3, 5, 4, 4)]:
        recurrent = rng.normal(scale=0.6, size=(units, units))
        states = rnn_forward(rng.normal(size=(1, time, 2)), None, rng.normal(size=(2, units)),
                             recurrent, np.zeros(units))[0]
        product = np.eye(units)
        for t in range(start + 1, end + 1):
            product = np.diag(1 - states[t] ** 2) @ recurrent.T @ product
        cases.append(Case(f"units={units}, from step {start} to {end}",
                          (states, recurrent, start, end), float(np.linalg.norm(product, 2))))
    return cases


def ex_2_2(jacobian_norm_fn: Callable, strict: bool | None = None) -> None:
    """Check ``jacobian_norm_fn(states, recurrent_kernel, start, end)`` -> spectral norm of
    d h_end / d h_start for one tanh sequence, states (time, units)."""
    run_check("ex_2_2", jacobian_norm_fn, _jacobian_norm_cases(), strict)


def _clip_cases(seed: int = 204) -> list[Case]:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    cases = []
    for label, scale, max_norm in [("norm below the limit", 0.01, 5.0),
                                   ("norm above the limit", 10.0, 1.0),
                                   ("one large tensor among small ones", 1.0, 2.0)]:
        grads = [rng.normal(scale=scale, size=s) for s in [(3, 4), (4,), (2, 2)]]
        if label.startswith("one large"):
            grads[1] *= 100
        clipped, _ = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
        cases.append(Case(label, (grads, max_norm), tuple(np.asarray(c) for c in clipped)))
    return cases


def ex_2_3(clip_fn: Callable, strict: bool | None = None) -> None:
    """Check ``clip_fn(grads, max_norm)`` -> list of arrays, against ``tf.clip_by_global_norm``
    (what Keras optimizers do with ``global_clipnorm``)."""
    run_check("ex_2_3", lambda *args: tuple(clip_fn(*args)), _clip_cases(), strict)


# --------------------------------------------------------------------------------------------
# notebook 03
# --------------------------------------------------------------------------------------------


def _lstm_weights(rng, features: int, units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (rng.normal(scale=0.5, size=(features, 4 * units)),
            rng.normal(scale=0.5, size=(units, 4 * units)), rng.normal(size=4 * units))


def _lstm_step_cases(seed: int = 301) -> list[Case]:
    from course_lib.scratch import lstm_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in [(1, 1, 1), (2, 3, 4), (3, 2, 5)]:
        args = (rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(size=(batch, units)), *_lstm_weights(rng, features, units))
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          tuple(lstm_step(*args))))
    return cases


def ex_3_1(lstm_step_fn: Callable, strict: bool | None = None) -> None:
    """Check ``lstm_step_fn(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias) -> (h_t, c_t)``
    with Keras' gate order i, f, c, o."""
    run_check("ex_3_1", lambda *args: tuple(lstm_step_fn(*args)), _lstm_step_cases(), strict)


def ex_3_2(param_count_fn: Callable, strict: bool | None = None) -> None:
    """Check ``param_count_fn(features, units) -> int`` against ``keras.layers.LSTM``."""
    run_check("ex_3_2", param_count_fn,
              _keras_param_cases("LSTM", [(1, 1), (3, 4), (32, 128)]), strict)


def _forget_gate_cases(seed: int = 303) -> list[Case]:
    from course_lib.scratch import lstm_gates

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in [(1, 1, 1), (2, 3, 4), (4, 2, 3)]:
        x_t, h_prev = rng.normal(size=(batch, features)), rng.normal(size=(batch, units))
        weights = _lstm_weights(rng, features, units)
        forget = lstm_gates(x_t @ weights[0] + h_prev @ weights[1] + weights[2])[1]
        cases.append(Case(f"batch={batch}, features={features}, units={units}",
                          (x_t, h_prev, *weights), forget))
    return cases


def ex_3_3(forget_gate_fn: Callable, strict: bool | None = None) -> None:
    """Check ``forget_gate_fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> f_t``
    (batch, units), computed from the forget-gate slices of the Keras weights only."""
    run_check("ex_3_3", forget_gate_fn, _forget_gate_cases(), strict)


# --------------------------------------------------------------------------------------------
# notebook 04
# --------------------------------------------------------------------------------------------


def _gru_step_cases(seed: int = 401) -> list[Case]:
    from course_lib.scratch import gru_step

    rng = np.random.default_rng(seed)
    cases = []
    for batch, features, units in [(1, 1, 1), (2, 3, 4), (3, 2, 5)]:
        args = (rng.normal(size=(batch, features)), rng.normal(size=(batch, units)),
                rng.normal(scale=0.5, size=(features, 3 * units)),
                rng.normal(scale=0.5, size=(units, 3 * units)), rng.normal(size=(2, 3 * units)))
        cases.append(Case(f"batch={batch}, features={features}, units={units}", args,
                          gru_step(*args)))
    return cases


def ex_4_1(gru_step_fn: Callable, strict: bool | None = None) -> None:
    """Check ``gru_step_fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t`` for Keras'
    default GRU (reset_after=True, bias of shape (2, 3·units))."""
    run_check("ex_4_1", gru_step_fn, _gru_step_cases(), strict)


def _gru_param_cases() -> list[Case]:
    import keras

    cases = []
    for features, units, reset_after in [(1, 1, True), (3, 4, False), (32, 64, True),
                                         (32, 64, False)]:
        layer = keras.layers.GRU(units, reset_after=reset_after)
        layer.build((None, None, features))
        cases.append(Case(f"features={features}, units={units}, reset_after={reset_after}",
                          (features, units, reset_after), int(layer.count_params())))
    return cases


def ex_4_2(param_count_fn: Callable, strict: bool | None = None) -> None:
    """Check ``param_count_fn(features, units, reset_after) -> int`` against Keras' GRU."""
    run_check("ex_4_2", param_count_fn, _gru_param_cases(), strict)


def _window_cases() -> list[Case]:
    from course_lib.forecast import window_arrays

    series = np.round(np.sin(np.arange(40) / 3) * 10, 2)
    return [Case(f"window={w}, horizon={h}, targets from {start} to {end}",
                 (series, w, h, start, end), window_arrays(series, w, h, start, end))
            for w, h, start, end in [(3, 1, 3, 10), (5, 2, 10, 20), (8, 4, 30, 40)]]


def ex_4_3(make_windows_fn: Callable, strict: bool | None = None) -> None:
    """Check ``make_windows_fn(series, window, horizon, first_target, end) -> (inputs,
    targets)`` of shapes (n, window) and (n, horizon)."""
    run_check("ex_4_3", lambda *args: tuple(make_windows_fn(*args)), _window_cases(), strict)


# --------------------------------------------------------------------------------------------
# notebook 05
# --------------------------------------------------------------------------------------------


def _merge_shape_cases() -> list[Case]:
    import keras

    cases = []
    for merge_mode, batch, time, units, sequences in [("concat", 2, 5, 3, True),
                                                      ("sum", 4, 7, 6, True),
                                                      ("ave", 1, 3, 2, False),
                                                      ("mul", 3, 4, 5, False)]:
        layer = keras.layers.Bidirectional(keras.layers.GRU(units, return_sequences=sequences),
                                           merge_mode=merge_mode)
        shape = tuple(layer(np.zeros((batch, time, 2), dtype="float32")).shape)
        cases.append(Case(f"merge_mode={merge_mode}, return_sequences={sequences}",
                          (merge_mode, batch, time, units, sequences), shape))
    return cases


def ex_5_1(output_shape_fn: Callable, strict: bool | None = None) -> None:
    """Check ``output_shape_fn(merge_mode, batch, time, units, return_sequences) -> tuple``,
    the output shape of ``Bidirectional(GRU(units, return_sequences=...), merge_mode=...)``."""
    run_check("ex_5_1", lambda *args: tuple(int(d) for d in output_shape_fn(*args)),
              [Case(c.label, c.args, c.expected) for c in _merge_shape_cases()], strict)


def _masked_mean_cases(seed: int = 502) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for batch, time, features in [(1, 3, 1), (2, 5, 3), (4, 6, 2)]:
        values = rng.normal(size=(batch, time, features))
        lengths = rng.integers(1, time + 1, size=batch)
        mask = np.arange(time)[None, :] < lengths[:, None]
        expected = np.stack([values[b, : lengths[b]].mean(axis=0) for b in range(batch)])
        cases.append(Case(f"batch={batch}, time={time}, lengths={lengths.tolist()}",
                          (values, mask), expected))
    return cases


def ex_5_2(masked_mean_fn: Callable, strict: bool | None = None) -> None:
    """Check ``masked_mean_fn(values (batch, time, features), mask (batch, time) bool)`` ->
    (batch, features): the mean over the unmasked steps only."""
    run_check("ex_5_2", masked_mean_fn, _masked_mean_cases(), strict)


def _padding_cases() -> list[Case]:
    from course_lib.text import padding_share

    lengths = [3, 3, 4, 9, 10, 10, 11, 25, 26, 40]
    return [Case(f"boundaries={b}, batch_size={n}", (lengths, b, n), padding_share(lengths, b, n))
            for b, n in [([], 4), ([5, 12], 4), ([5, 12, 30], 2), ([100], 10)]]


def ex_5_3(padding_share_fn: Callable, strict: bool | None = None) -> None:
    """Check ``padding_share_fn(lengths, boundaries, batch_size) -> float``: the share of padded
    positions when sequences (in the given order) are grouped into length buckets
    [0, b1), [b1, b2), …, batched in order within each bucket, and padded to each batch's
    longest sequence."""
    run_check("ex_5_3", padding_share_fn, _padding_cases(), strict)


# --------------------------------------------------------------------------------------------
# notebook 06
# --------------------------------------------------------------------------------------------


def _additive_score_cases(seed: int = 601) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for batch, source_time, query_units, key_units, hidden in [(1, 1, 1, 1, 1), (2, 4, 3, 5, 2),
                                                               (3, 6, 4, 4, 3)]:
        query = rng.normal(size=(batch, query_units))
        keys = rng.normal(size=(batch, source_time, key_units))
        w_query = rng.normal(size=(query_units, hidden))
        w_key = rng.normal(size=(key_units, hidden))
        v = rng.normal(size=(hidden,))
        expected = np.tanh((query @ w_query)[:, None, :] + keys @ w_key) @ v
        cases.append(Case(f"batch={batch}, source_time={source_time}, hidden={hidden}",
                          (query, keys, w_query, w_key, v), expected))
    return cases


def ex_6_1(additive_score_fn: Callable, strict: bool | None = None) -> None:
    """Check ``additive_score_fn(query (batch, query_units), keys (batch, source_time,
    key_units), w_query (query_units, hidden), w_key (key_units, hidden), v (hidden,))`` ->
    (batch, source_time) scores ``v · tanh(query W_query + key W_key)``."""
    run_check("ex_6_1", additive_score_fn, _additive_score_cases(), strict)


def _masked_softmax_cases(seed: int = 602) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for batch, source_time, scale in [(1, 3, 1.0), (3, 5, 1.0), (2, 6, 500.0)]:
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


def ex_6_2(masked_softmax_fn: Callable, strict: bool | None = None) -> None:
    """Check ``masked_softmax_fn(scores (batch, source_time), mask (batch, source_time) bool)``
    -> weights that sum to 1 over the True positions and are exactly 0 on the False ones
    (including for large scores, where a plain ``exp`` overflows)."""
    run_check("ex_6_2", masked_softmax_fn, _masked_softmax_cases(), strict)


def _beam_step_cases(seed: int = 603) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for beams, vocab, width in [(1, 5, 1), (2, 4, 2), (3, 6, 3), (3, 3, 5)]:
        scores = np.sort(rng.normal(size=beams) - 3.0)[::-1]
        log_probs = np.log(rng.dirichlet(np.ones(vocab), size=beams))
        flat = (scores[:, None] + log_probs).ravel()
        best = sorted(range(flat.size), key=lambda i: (-flat[i], i))[:width]
        expected = (flat[best], np.array(best) // vocab, np.array(best) % vocab)
        cases.append(Case(f"beams={beams}, vocab={vocab}, beam_width={width}",
                          (scores, log_probs, width), expected))
    return cases


def ex_6_3(beam_step_fn: Callable, strict: bool | None = None) -> None:
    """Check ``beam_step_fn(scores (beams,), log_probs (beams, vocab), beam_width)`` ->
    ``(new_scores, parents, tokens)``, each (min(beam_width, beams·vocab),): the best
    extensions, highest score first (ties: lower beam, then lower token)."""
    run_check("ex_6_3", lambda *args: tuple(np.asarray(a) for a in beam_step_fn(*args)),
              _beam_step_cases(), strict)


# --------------------------------------------------------------------------------------------
# notebook 07
# --------------------------------------------------------------------------------------------


def _scaled_attention_cases(seed: int = 701) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for batch, q_time, k_time, depth, masked in [(1, 1, 2, 1, False), (2, 3, 4, 5, False),
                                                 (2, 4, 4, 8, True), (1, 2, 3, 2, True)]:
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


def ex_7_1(attention_fn: Callable, strict: bool | None = None) -> None:
    """Check ``attention_fn(q (batch, q_time, depth), k (batch, k_time, depth),
    v (batch, k_time, depth_v), mask=None)`` -> ``(output (batch, q_time, depth_v), weights
    (batch, q_time, k_time))`` with weights ``softmax(q kᵀ / √depth)``, 0 where ``mask``
    (batch, q_time, k_time) bool is False."""
    run_check("ex_7_1", lambda *args, **kwargs: tuple(np.asarray(a) for a in
                                                      attention_fn(*args, **kwargs)),
              _scaled_attention_cases(), strict)


def ex_7_2(causal_mask_fn: Callable, strict: bool | None = None) -> None:
    """Check ``causal_mask_fn(length) -> (length, length) bool``, True where query step i may
    attend to key step j (j <= i)."""
    from course_lib.transformer import causal_mask

    run_check("ex_7_2", lambda length: np.asarray(causal_mask_fn(length), dtype=float),
              [Case(f"length={n}", (n,), causal_mask(n).astype(float)) for n in (1, 2, 5)],
              strict)


def ex_7_3(positional_encoding_fn: Callable, strict: bool | None = None) -> None:
    """Check ``positional_encoding_fn(length, depth) -> (length, depth)`` sinusoidal encodings:
    sin at even columns 2i and cos at odd columns 2i + 1, angle p / 10000**(2i / depth)."""
    from course_lib.transformer import sinusoidal_encoding

    run_check("ex_7_3", positional_encoding_fn,
              [Case(f"length={n}, depth={d}", (n, d), sinusoidal_encoding(n, d))
               for n, d in ((1, 2), (4, 6), (50, 16))], strict, atol=1e-5)
