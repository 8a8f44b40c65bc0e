import numpy as np
import pytest

from course_lib import checks, decoding, layers, models, scratch, text


def test_compare_reports_shape_mismatch():
    assert checks.compare(np.zeros((2, 3)), np.zeros((2, 4))) == "expected shape (2, 4), got (2, 3)"


def test_compare_reports_first_mismatching_index_and_values():
    hint = checks.compare(np.array([1.0, 2.0, 9.0]), np.array([1.0, 2.0, 3.0]))
    assert "index (2,)" in hint and "expected 3" in hint and "got 9" in hint


def test_compare_accepts_close_values_and_exact_integers():
    assert checks.compare(np.array([1.0 + 1e-9]), np.array([1.0])) is None
    assert checks.compare(5, 5) is None and checks.compare(4, 5) == "expected 5, got 4"


def test_correct_solutions_pass(capsys):
    checks.ex_1_1(scratch.rnn_step, strict=True)
    checks.ex_1_2(lambda features, units: units * (features + units + 1), strict=True)
    checks.ex_1_3(decoding.softmax_with_temperature, strict=True)
    assert capsys.readouterr().out.count("✓") == 3


def test_wrong_solution_prints_hint_without_raising_by_default(capsys, monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    checks.ex_1_2(lambda features, units: units * (features + units))
    out = capsys.readouterr().out
    assert out.startswith("✗ ex_1_2, case 1/3") and "expected 3, got 2" in out


def test_wrong_solution_raises_in_strict_mode():
    with pytest.raises(checks.CheckFailed, match="ex_1_1"):
        checks.ex_1_1(lambda x, h, k, r, b: x @ k + h @ r + b, strict=True)


def test_unstable_softmax_is_caught():
    def naive(logits, temperature):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(np.asarray(logits) / temperature)
            return e / e.sum(axis=-1, keepdims=True)

    with pytest.raises(checks.CheckFailed, match="stability.*non-finite"):
        checks.ex_1_3(naive, strict=True)


def test_run_check_returns_whether_all_cases_pass():
    cases = [checks.Case("doubling", (2,), 4)]
    assert checks.run_check("toy", lambda v: 2 * v, cases, strict=False)
    assert not checks.run_check("toy", lambda v: v + 1, cases + [checks.Case("3", (3,), 6)],
                                strict=False)


def test_unimplemented_stub_gets_a_friendly_hint(capsys):
    def stub(*args):
        raise NotImplementedError("ex_1_1: your code here")

    checks.ex_1_1(stub, strict=False)
    assert "not implemented yet" in capsys.readouterr().out


def _bptt_step_via_library(d_h, h_t, h_prev, x_t, kernel, recurrent):
    grads = scratch.rnn_backward(d_h[:, None], x_t[:, None], h_prev, h_t[:, None], kernel,
                                 recurrent)
    return grads.kernel, grads.recurrent_kernel, grads.bias, grads.x[:, 0], grads.h0


def test_notebook_02_checks_accept_correct_solutions(capsys):
    import tensorflow as tf

    def jacobian_norm(states, recurrent, start, end):
        product = np.eye(recurrent.shape[0])
        for t in range(start + 1, end + 1):
            product = (1 - states[t] ** 2)[:, None] * recurrent.T @ product
        return np.linalg.norm(product, 2)

    checks.ex_2_1(_bptt_step_via_library, strict=True)
    checks.ex_2_2(jacobian_norm, strict=True)
    checks.ex_2_3(lambda grads, max_norm: [t.numpy() for t in tf.clip_by_global_norm(
        [tf.constant(g) for g in grads], max_norm)[0]], strict=True)
    checks.ex_2_4(_bptt_answer, strict=True)
    assert capsys.readouterr().out.count("✓") == 4


def test_bptt_step_check_names_the_wrong_result():
    def forgets_tanh_derivative(d_h, h_t, h_prev, x_t, kernel, recurrent):
        return (x_t.T @ d_h, h_prev.T @ d_h, d_h.sum(0), d_h @ kernel.T, d_h @ recurrent.T)

    with pytest.raises(checks.CheckFailed, match="result 0"):
        checks.ex_2_1(forgets_tanh_derivative, strict=True)


def test_clipping_each_tensor_separately_is_caught():
    def clip_each(grads, max_norm):
        return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]

    with pytest.raises(checks.CheckFailed, match="ex_2_3, case 2/3"):
        checks.ex_2_3(clip_each, strict=True)


def test_wrong_number_of_results_is_reported():
    assert checks.compare((1.0,), (1.0, 2.0)) == "expected 2 results, got 1 results"


def test_notebook_03_checks_accept_correct_solutions(capsys):
    def forget_gate(x_t, h_prev, kernel, recurrent, bias):
        units = recurrent.shape[0]
        part = slice(units, 2 * units)
        z = x_t @ kernel[:, part] + h_prev @ recurrent[:, part] + bias[part]
        return 1 / (1 + np.exp(-z))

    checks.ex_3_1(scratch.lstm_step, strict=True)
    checks.ex_3_2(lambda features, units: 4 * units * (features + units + 1), strict=True)
    checks.ex_3_3(forget_gate, strict=True)
    assert capsys.readouterr().out.count("✓") == 3


def test_lstm_step_with_gates_in_the_wrong_order_is_caught():
    def wrong_order(x_t, h_prev, c_prev, kernel, recurrent, bias):
        z = x_t @ kernel + h_prev @ recurrent + bias
        f, i, g, o = np.split(z, 4, axis=-1)  # swaps input and forget gates
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        c = sig(f) * c_prev + sig(i) * np.tanh(g)
        return sig(o) * np.tanh(c), c

    with pytest.raises(checks.CheckFailed, match="ex_3_1"):
        checks.ex_3_1(wrong_order, strict=True)


def test_notebook_04_checks_accept_correct_solutions(capsys):
    from course_lib import forecast

    checks.ex_4_1(scratch.gru_step, strict=True)
    checks.ex_4_2(lambda f, u, reset_after: models.recurrent_param_count("gru", f, u, reset_after),
                  strict=True)
    checks.ex_4_3(forecast.window_arrays, strict=True)
    assert capsys.readouterr().out.count("✓") == 3


def test_gru_with_the_textbook_interpolation_is_caught():
    def swapped(x_t, h_prev, kernel, recurrent, bias):  # h = (1 - z) h_prev + z h̃
        units = recurrent.shape[0]
        z = 1 / (1 + np.exp(-(x_t @ kernel + bias[0] + h_prev @ recurrent + bias[1])[:, :units]))
        return (1 - z) * h_prev + z * (scratch.gru_step(x_t, h_prev, kernel, recurrent, bias)
                                       - z * h_prev) / (1 - z)

    with pytest.raises(checks.CheckFailed, match="ex_4_1"):
        checks.ex_4_1(swapped, strict=True)


def test_windows_off_by_one_are_caught():
    from course_lib import forecast

    def late(series, window, horizon, first_target, end):
        inputs, targets = forecast.window_arrays(series, window, horizon, first_target, end)
        return inputs, targets + 1

    with pytest.raises(checks.CheckFailed, match="result 1"):
        checks.ex_4_3(late, strict=True)


def test_notebook_05_checks_accept_correct_solutions(capsys):

    def shape(merge_mode, batch, time, units, sequences):
        width = 2 * units if merge_mode == "concat" else units
        return (batch, time, width) if sequences else (batch, width)

    def masked_mean(values, mask):
        weights = mask[..., None].astype(float)
        return (values * weights).sum(axis=1) / weights.sum(axis=1)

    checks.ex_5_1(shape, strict=True)
    checks.ex_5_2(masked_mean, strict=True)
    checks.ex_5_3(text.padding_share, strict=True)
    assert capsys.readouterr().out.count("✓") == 3


def test_unmasked_mean_is_caught():
    with pytest.raises(checks.CheckFailed, match="ex_5_2"):
        checks.ex_5_2(lambda values, mask: values.mean(axis=1), strict=True)


def _reference_attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, 1, 2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def test_notebook_07_reference_solutions_pass(capsys):
    from course_lib import transformer

    checks.ex_7_1(_reference_attention, strict=True)
    checks.ex_7_2(transformer.causal_mask, strict=True)
    checks.ex_7_3(transformer.sinusoidal_encoding, strict=True)
    checks.ex_7_4(_reference_kv_step, strict=True)
    assert capsys.readouterr().out.count("✓") == 4


def _bptt_answer(d_states, x, h0, states, kernel, recurrent, truncate=None,
                 recurrent_transposed=False):
    from course_lib import scratch

    grads = scratch.rnn_backward(d_states, x, h0, states, kernel, recurrent, truncate=truncate)
    recurrent_grad = grads.recurrent_kernel.T if recurrent_transposed else grads.recurrent_kernel
    return grads.kernel, recurrent_grad, grads.bias, grads.x, grads.h0


def _reference_kv_step(x_t, keys, values, w_query, w_key, w_value, w_output):
    """The exercise's answer written head by head with _reference_attention (independent of
    the generator's einsum version)."""
    heads = w_query.shape[1]
    keys = np.concatenate([keys, np.einsum("bd,dhk->bhk", x_t, w_key)[:, None]], axis=1)
    values = np.concatenate([values, np.einsum("bd,dhk->bhk", x_t, w_value)[:, None]], axis=1)
    output = 0
    for head in range(heads):
        query = (x_t @ w_query[:, head])[:, None]  # (batch, 1, head_dim)
        context, _ = _reference_attention(query, keys[:, :, head], values[:, :, head])
        output = output + context[:, 0] @ w_output[head]
    return output, keys, values


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex_7_1", lambda q, k, v, mask=None: _reference_attention(q * np.sqrt(q.shape[-1]), k, v,
                                                               mask), "depth=5"),  # unscaled
    ("ex_7_1", lambda q, k, v, mask=None: _reference_attention(q, k, v), "with a mask"),
    ("ex_7_2", lambda n: np.triu(np.ones((n, n), bool)), "length=2"),  # transposed
    ("ex_2_4", lambda *args: _bptt_answer(*args, recurrent_transposed=True), "transposed"),
    ("ex_2_4", lambda *args: _bptt_answer(*args, truncate=1), "from later steps is missing"),
    ("ex_7_4", lambda x, k, v, *w: checks._kv_step(x, k, v, *w, scale=False),
     "not divided by sqrt\\(head_dim\\)"),
    ("ex_7_4", lambda x, k, v, *w: checks._kv_step(x, k, v, *w, self_too=False),
     "must attend to itself too"),
    ("ex_7_3", lambda n, d: np.concatenate(  # sin and cos halves instead of interleaved
        [np.sin(np.arange(n)[:, None] / 1e4 ** (np.arange(0, d, 2) / d)),
         np.cos(np.arange(n)[:, None] / 1e4 ** (np.arange(0, d, 2) / d))], axis=1),
     "length=4, depth=6"),
])
def test_notebook_07_typical_mistakes_are_caught(exercise, wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        getattr(checks, exercise)(wrong, strict=True)


def test_every_exercise_is_listed_once_with_references_that_exist():
    import importlib

    per_notebook = {1: 3, 2: 4, 3: 4, 4: 4, 5: 4, 6: 5, 7: 5, 9: 3, 10: 3}
    ids = [f"ex_{n}_{k}" for n, count in per_notebook.items() for k in range(1, count + 1)]
    assert list(checks.EXERCISES) == ids
    for exercise in checks.EXERCISES.values():
        assert getattr(checks, exercise.id).__name__ == exercise.id
        for dotted in exercise.references:
            module, _, name = dotted.rpartition(".")
            assert hasattr(importlib.import_module(module), name), dotted


def test_hidden_cases_are_other_draws_of_the_same_generators():
    from grading.grade import hidden_cases
    from grading.tests.hidden import HIDDEN

    assert set(HIDDEN) == set(checks.EXERCISES)
    for ex_id, exercise in checks.EXERCISES.items():
        shown, hidden = exercise.cases(), hidden_cases(ex_id)
        assert hidden, ex_id
        shown_labels = {case.label for case in shown}
        assert any(case.label not in shown_labels for case in hidden), ex_id


def test_no_module_reaches_another_packages_private_names():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"\b(?:checks|course_lib(?:\.\w+)?|grading(?:\.\w+)?)\._[a-z]\w*|"
                         r"from course_lib[\w.]* import _|\._flatten_layers|keras\.src\b")
    offenders = [f"{path.relative_to(root)}:{number}: {line.strip()}"
                 for folder in ("course_lib", "grading", "tools")
                 for path in sorted((root / folder).rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if pattern.search(line) and "# noqa: private" not in line]
    assert not offenders, offenders


def _beam_step(scores, log_probs, beam_width):
    flat = (scores[:, None] + log_probs).ravel()
    best = np.argsort(-flat, kind="stable")[:beam_width]
    return flat[best], best // log_probs.shape[1], best % log_probs.shape[1]


def _additive_score(query, keys, w_query, w_key, v):
    return np.tanh((query @ w_query)[:, None, :] + keys @ w_key) @ v


def test_notebook_06_reference_solutions_pass(capsys):
    checks.ex_6_1(_additive_score, strict=True)
    checks.ex_6_2(lambda s, m: np.asarray(layers.masked_softmax(s[:, None], m))[:, 0],
                  strict=True)
    checks.ex_6_3(_beam_step, strict=True)
    assert capsys.readouterr().out.count("✓") == 3


def test_notebook_06_checks_catch_typical_mistakes():
    with pytest.raises(checks.CheckFailed, match="ex_6_2"):  # softmax over padding too
        checks.ex_6_2(lambda s, m: np.exp(s) / np.exp(s).sum(-1, keepdims=True) * m, strict=True)
    with pytest.raises(checks.CheckFailed, match="ex_6_3"):  # best token per beam only
        checks.ex_6_3(lambda s, lp, k: _beam_step(s[:1], lp[:1], k), strict=True)


def _sacrebleu_on_tokens(hypotheses, references):
    import sacrebleu

    return sacrebleu.corpus_bleu([" ".join(h) for h in hypotheses],
                                 [[" ".join(r) for r in references]], tokenize="none",
                                 smooth_method="none", force=True).score


def _list_beam_search(log_table, start_id, end_id, max_length, beam_width, alpha):
    """Beam search over a bigram table written with plain lists (independent of
    course_lib.decoding)."""
    beams, done = [(0.0, [])], []
    for _ in range(max_length):
        grown = [(score + log_table[tokens[-1] if tokens else start_id][token], [*tokens, token])
                 for score, tokens in beams for token in range(len(log_table))
                 if np.isfinite(log_table[tokens[-1] if tokens else start_id][token])]
        grown += done  # finished beams compete for the places too
        grown.sort(key=lambda beam: -beam[0])
        kept = grown[:beam_width]
        done = [b for b in kept if b[1][-1] == end_id]
        beams = [b for b in kept if b[1][-1] != end_id]
        if not beams:
            break
    pool = done + beams

    def penalty(tokens):
        return ((5 + len(tokens)) / 6) ** alpha

    score, tokens = max(pool, key=lambda beam: beam[0] / penalty(beam[1]))
    return tokens, score / penalty(tokens)


def test_notebook_06_bleu_and_beam_search_references_pass(capsys):
    checks.ex_6_4(_sacrebleu_on_tokens, strict=True)
    checks.ex_6_5(_list_beam_search, strict=True)
    assert capsys.readouterr().out.count("✓") == 2
    for case in checks.bleu_cases():  # the mistakes' helper is right when nothing is switched off
        assert checks._bleu(*case.args) == pytest.approx(case.expected)


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex_6_4", lambda h, r: checks._bleu(h, r, clip=False), "not clipped"),
    ("ex_6_4", lambda h, r: checks._bleu(h, r, brevity=False), "brevity penalty"),
    ("ex_6_4", lambda h, r: float(np.mean([checks._bleu([a], [b])
                                           for a, b in zip(h, r, strict=True)])),
     "averages sentence BLEUs"),
    ("ex_6_5", lambda *args: _list_beam_search(*args[:5], 0.0), "plain log-probability"),
])
def test_notebook_06_bleu_and_beam_search_mistakes_are_caught(exercise, wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        getattr(checks, exercise)(wrong, strict=True)


def test_lstm_step_backward_answer_matches_finite_differences():
    from course_lib import scratch

    case = checks.lstm_step_backward_cases()[1]
    d_h, d_c, x_t, h_prev, c_prev, kernel, recurrent, bias = case.args
    inputs = [x_t, h_prev, c_prev, kernel, recurrent, bias]

    def loss():
        h_t, c_t = scratch.lstm_step(*inputs)
        return float((d_h * h_t).sum() + (d_c * c_t).sum())

    for array, analytic in zip(inputs, case.expected, strict=True):
        numeric = scratch.numerical_gradient(loss, array)
        assert scratch.relative_error(analytic, numeric) < 1e-6


def test_spelling_features_and_multi_head_answers_match_keras_layers():
    import keras

    x, kernel, bias = (np.asarray(a, np.float32) for a in checks.char_cnn_cases()[2].args)
    conv = keras.layers.Conv2D(kernel.shape[-1], (1, kernel.shape[0]), padding="same",
                               activation="relu")
    conv.build(x.shape)
    conv.set_weights([kernel[None], bias])
    pooled = keras.layers.MaxPooling2D((1, x.shape[2]))(conv(x))
    keras_features = keras.ops.convert_to_numpy(pooled).reshape(*x.shape[:2], -1)
    assert np.allclose(keras_features, checks._char_cnn(x, kernel, bias), atol=1e-5)

    for case in checks.multi_head_cases():
        x, *weights, causal = case.args
        x, weights = x.astype(np.float32), [w.astype(np.float32) for w in weights]
        attention = keras.layers.MultiHeadAttention(weights[0].shape[1], weights[0].shape[2],
                                                    use_bias=False)
        attention(x, x)
        attention.set_weights(weights)
        got = keras.ops.convert_to_numpy(attention(x, x, use_causal_mask=causal))
        assert np.allclose(got, case.expected, atol=1e-4), case.label


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex_3_4", lambda *args: checks._lstm_step_backward(*args, through_h=False),
     "path through h_t"),
    ("ex_3_4", lambda *args: checks._lstm_step_backward(*args, forget=False), "forget gate"),
    ("ex_4_4", checks._ridge_fit_shrinking_the_constant,
     "constant \\(last row\\) is shrunk"),
    ("ex_5_4", lambda *args: checks._char_cnn(*args, padding="valid"), "no padding"),
    ("ex_5_4", lambda *args: checks._char_cnn(*args, pool="mean"), "averages"),
    ("ex_5_4", lambda *args: checks._char_cnn(*args, relu=False), "ReLU is missing"),
    ("ex_7_5", lambda *args: checks._mha(*args, scale=False), "sqrt\\(head_dim\\)"),
    ("ex_7_5", lambda *args: checks._mha(*args, mask=False), "causal=True"),
    ("ex_9_1", lambda earlier, later: (earlier[0] * later[0], earlier[0] * later[1] + earlier[1]),
     "order is swapped"),
    ("ex_9_2", lambda *args: checks._min_gru_step(*args, swap=True), "swapped"),
    ("ex_9_2", lambda *args: checks._min_gru_step(*args, squash=True), "no tanh"),
    ("ex_9_3", lambda log_a, log_b: np.logaddexp.accumulate(log_b, axis=1), "decays are missing"),
    ("ex_10_1", lambda errors, global_batch: float(np.mean(errors)), "global batch"),
    ("ex_10_2", lambda *args: checks._greedy_stream(*args, feed_state=False), "fed back"),
    ("ex_10_2", lambda *args: checks._greedy_stream(*args, include_first=True), "not the first"),
    ("ex_10_3", lambda *args: checks._scaled_rate(*args, warmup=False), "ramps linearly"),
    ("ex_10_3", lambda *args: checks._scaled_rate(*args, rule="sqrt"), "square root"),
])
def test_deeper_exercises_name_typical_mistakes(exercise, wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        getattr(checks, exercise)(wrong, strict=True)


def test_notebook_09_answers_match_the_library():
    import keras

    from course_lib import minimal_rnn, scan

    for case in checks.scan_combine_cases():
        got = scan.combine(*case.args)
        assert all(np.allclose(g, e) for g, e in zip(got, case.expected, strict=True))
    for case in checks.min_gru_step_cases():
        x_t, h_prev, kernel, bias = (np.asarray(a, np.float32) for a in case.args)
        layer = minimal_rnn.MinGRU(h_prev.shape[-1])
        layer(x_t[:, None])
        layer.projection.set_weights([kernel, bias])
        got, _ = layer.step(x_t, h_prev)
        assert np.allclose(keras.ops.convert_to_numpy(got), case.expected, atol=1e-5)
    for case in checks.log_scan_cases():
        log_a, log_b = (np.asarray(a, np.float32) for a in case.args)
        got = keras.ops.convert_to_numpy(scan.log_linear_recurrence(log_a, log_b))
        assert np.allclose(got, case.expected, rtol=1e-5, atol=1e-3), case.label


def test_the_naive_log_space_answer_fails_where_exponentials_underflow():
    def naive(log_a, log_b):
        from course_lib import scratch

        return np.log(scratch.linear_recurrence(np.exp(log_a), np.exp(log_b)))

    with pytest.raises(checks.CheckFailed, match="non-finite"):
        checks.ex_9_3(naive, strict=True)


def test_notebook_10_replica_loss_is_what_tensorflow_computes():
    import tensorflow as tf

    for case in checks.replica_loss_cases():
        errors, global_batch = case.args
        expected = float(tf.nn.compute_average_loss(errors, global_batch_size=global_batch))
        assert np.isclose(case.expected, expected)
