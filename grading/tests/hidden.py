"""Hidden test cases, one point each — never shipped to students.

They call the same reference solutions as the self-checks in ``course_lib.checks`` but on
inputs the self-checks never show: other random draws (``SEED``) and other shapes and sizes.
Each entry builds ``course_lib.checks.Case`` objects (label, arguments, expected answer).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import checks
from course_lib.checks import Case

SEED = 9001  # no self-check uses it


def _softmax_cases() -> list[Case]:
    from course_lib.decoding import softmax_with_temperature

    rng = np.random.default_rng(SEED)
    draws = [(0.3, rng.normal(size=(3, 6))), (4.0, rng.normal(size=(3, 6)))]
    cases = [Case(f"logits (3, 6), temperature={t}", (logits, t),
                  softmax_with_temperature(logits, t)) for t, logits in draws]
    huge = np.array([[-1000.0, -1001.0, -999.0]])
    return [*cases, Case("very negative logits (stability)", (huge, 0.5),
                         softmax_with_temperature(huge, 0.5))]


def _gru_param_cases() -> list[Case]:
    import keras

    cases = []
    for features, units, reset_after in [(2, 9, True), (17, 3, False), (64, 1, True)]:
        layer = keras.layers.GRU(units, reset_after=reset_after)
        layer.build((None, None, features))
        cases.append(Case(f"features={features}, units={units}, reset_after={reset_after}",
                          (features, units, reset_after), int(layer.count_params())))
    return cases


def _window_cases() -> list[Case]:
    from course_lib.forecast import window_arrays

    series = np.random.default_rng(SEED).normal(size=60).round(3)
    return [Case(f"window={w}, horizon={h}, targets from {start} to {end}",
                 (series, w, h, start, end), window_arrays(series, w, h, start, end))
            for w, h, start, end in [(1, 1, 1, 5), (12, 3, 12, 60), (4, 6, 20, 27)]]


def _merge_shape_cases() -> list[Case]:
    import keras

    cases = []
    for merge_mode, batch, time, units, sequences in [("concat", 1, 1, 1, False),
                                                      ("ave", 5, 2, 4, True),
                                                      ("concat", 3, 9, 7, True)]:
        layer = keras.layers.Bidirectional(keras.layers.GRU(units, return_sequences=sequences),
                                           merge_mode=merge_mode)
        shape = tuple(int(d) for d in layer(np.zeros((batch, time, 2), "float32")).shape)
        cases.append(Case(f"merge_mode={merge_mode}, batch={batch}, time={time}, "
                          f"units={units}, return_sequences={sequences}",
                          (merge_mode, batch, time, units, sequences), shape))
    return cases


def _padding_cases() -> list[Case]:
    from course_lib.text import padding_share

    lengths = [int(n) for n in np.random.default_rng(SEED).integers(1, 60, size=37)]
    return [Case(f"37 random lengths, boundaries={b}, batch_size={n}", (lengths, b, n),
                 padding_share(lengths, b, n)) for b, n in [([], 8), ([10, 20, 40], 3),
                                                            ([1000], 1)]]


def _causal_cases() -> list[Case]:
    from course_lib.transformer import causal_mask

    return [Case(f"length={n}", (n,), causal_mask(n).astype(float)) for n in (3, 8, 13)]


def _encoding_cases() -> list[Case]:
    from course_lib.transformer import sinusoidal_encoding

    return [Case(f"length={n}, depth={d}", (n, d), sinusoidal_encoding(n, d))
            for n, d in ((7, 4), (33, 10), (200, 2))]


HIDDEN: dict[str, Callable[[], list[Case]]] = {
    "ex_1_1": lambda: checks._rnn_step_cases(SEED),
    "ex_1_2": lambda: checks._keras_param_cases("SimpleRNN", [(2, 9), (40, 3), (1, 128)]),
    "ex_1_3": _softmax_cases,
    "ex_2_1": lambda: checks._bptt_step_cases(SEED),
    "ex_2_2": lambda: checks._jacobian_norm_cases(SEED),
    "ex_2_3": lambda: checks._clip_cases(SEED),
    "ex_3_1": lambda: checks._lstm_step_cases(SEED),
    "ex_3_2": lambda: checks._keras_param_cases("LSTM", [(2, 9), (40, 3), (1, 128)]),
    "ex_3_3": lambda: checks._forget_gate_cases(SEED),
    "ex_4_1": lambda: checks._gru_step_cases(SEED),
    "ex_4_2": _gru_param_cases,
    "ex_4_3": _window_cases,
    "ex_5_1": _merge_shape_cases,
    "ex_5_2": lambda: checks._masked_mean_cases(SEED),
    "ex_5_3": _padding_cases,
    "ex_6_1": lambda: checks._additive_score_cases(SEED),
    "ex_6_2": lambda: checks._masked_softmax_cases(SEED),
    "ex_6_3": lambda: checks._beam_step_cases(SEED),
    "ex_7_1": lambda: checks._scaled_attention_cases(SEED),
    "ex_7_2": _causal_cases,
    "ex_7_3": _encoding_cases,
}
TOLERANCE = {"ex_7_1": 1e-5, "ex_7_3": 1e-5}  # float32 answers are accepted
