"""course_lib.comparison: equal-budget contenders, cost against length, streaming cost."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from course_lib import comparison, runtime, transformer
from course_lib.seq2seq import EncoderDecoder
from course_lib.transformer import TransformerEncoderDecoder

SOURCE = np.array([[3, 4, 5, 0], [6, 7, 8, 9]], "int32")


def test_loglog_slope_recovers_the_exponent():
    lengths = [64, 128, 256, 512]
    assert comparison.loglog_slope(lengths, [3 * n for n in lengths]) == pytest.approx(1.0)
    assert comparison.loglog_slope(lengths, [0.5 * n**2 for n in lengths]) == pytest.approx(2.0)


def _tiny_regressor():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_compare_contenders_measures_every_model_the_same_way():
    x, y = np.ones((32, 3), "float32"), np.zeros((32, 1), "float32")
    calls = []

    def train(model):
        calls.append(model.name)
        return model.fit(x, y, epochs=2, verbose=0, callbacks=[comparison.EpochMetric(
            "minus_loss", lambda m: -float(m.evaluate(x, y, verbose=0)))])

    results = comparison.compare_contenders(
        {"a": _tiny_regressor, "b": _tiny_regressor}, train,
        evaluate=lambda m: 0.5, infer=lambda m: m.predict(x, verbose=0), latency_repeats=2)
    assert [r.name for r in results] == ["a", "b"] and len(calls) == 2
    assert all(r.parameters == 4 and r.metric == 0.5 and r.latency_seconds > 0 for r in results)
    history = results[0].history
    assert len(history["minus_loss"]) == 2 and history["minus_loss"][1] <= 0
    assert results[0].train_seconds == history["train_seconds"][-1]  # evaluations excluded
    table = comparison.contender_table(results, "metric", "latency")
    assert table.splitlines()[1].startswith("a ") and "ms" in table


def test_forward_backward_cost_without_allocator_statistics_reports_no_memory():
    if comparison.memory_stats_device() is not None:
        pytest.skip("this process keeps allocator statistics")
    cost = comparison.forward_backward_cost(keras.layers.LSTM(4, return_sequences=True),
                                            np.ones((2, 5, 3), "float32"), repeats=1)
    assert cost.seconds > 0 and cost.peak_bytes is None


def test_attention_memory_grows_faster_than_lstm_memory_with_allocator_statistics():
    script = (
        "import keras, numpy as np\n"
        "from course_lib import comparison, transformer\n"
        "curves = comparison.scaling_curves({\n"
        "    'lstm': lambda: keras.layers.LSTM(16, return_sequences=True),\n"
        "    'attention': lambda: transformer.TransformerEncoderBlock(16, 2, 32)},\n"
        "    [128, 512], batch=2, features=16, repeats=1)\n"
        "grow = {n: c[512].peak_bytes / c[128].peak_bytes for n, c in curves.items()}\n"
        "print(grow)\n"
        "assert grow['attention'] > 8 and grow['lstm'] < 6, grow\n")
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "true", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_streaming_state_is_constant_for_an_rnn_and_grows_for_a_transformer():
    runtime.set_seed(0)
    rnn = EncoderDecoder(12, 9, units=8, embedding_dim=4, attention="dot")
    transformer = TransformerEncoderDecoder(12, 9, d_model=8, heads=2, ff_units=16,
                                            decoder_layers=3)
    costs = comparison.streaming_costs({"rnn": rnn, "transformer": transformer}, SOURCE,
                                       token_id=4, steps=6)
    rnn_cost, transformer_cost = costs["rnn"], costs["transformer"]
    assert rnn_cost.seconds.shape == (6,) and np.all(rnn_cost.seconds > 0)
    assert len(set(rnn_cost.state_bytes)) == 1
    # each step adds one position's key and value (2 x 8 float32) per example (2) to each
    # decoder block's KV cache (3)
    np.testing.assert_array_equal(np.diff(transformer_cost.state_bytes), 3 * 2 * 2 * 8 * 4)
    assert transformer_cost.window_median(6, width=3) > 0
    assert transformer_cost.growth(width=3) > 0


class _Recorder:
    """A model with the decoding protocol that records when it steps."""

    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    def start_state(self, source_ids):
        return (np.zeros(len(source_ids)),)

    def step(self, tokens, state):
        self.log.append(self.name)
        return None, state


def test_streaming_models_take_turns_in_blocks_of_steps():
    log: list[str] = []
    models = {name: _Recorder(name, log) for name in "ab"}
    costs = comparison.streaming_costs(models, SOURCE, token_id=4, steps=5, turn=2)
    timed = log[4:]  # after two untimed warm-up steps each
    assert "".join(timed) == "aabbaabbab"
    assert costs["a"].seconds.shape == costs["b"].seconds.shape == (5,)
    with pytest.raises(ValueError, match="turn must be at least 1"):
        comparison.streaming_costs(models, SOURCE, token_id=4, steps=5, turn=0)


def test_scaling_curves_measure_every_length_with_a_fresh_layer():
    curves = comparison.scaling_curves(
        {"block": lambda: transformer.TransformerEncoderBlock(8, 2, 16)}, [4, 8], batch=1,
        features=8, repeats=1)
    assert list(curves["block"]) == [4, 8] and curves["block"][8].seconds > 0


def test_median_seconds_repeats_quick_calls_until_enough_time_is_measured():
    calls = []
    comparison.median_seconds(lambda: calls.append(1), repeats=2, min_seconds=1.0,
                              max_repeats=7)
    assert len(calls) == 1 + 7  # warm-up + capped repeats (each call takes ~0 s)
    calls.clear()
    comparison.median_seconds(lambda: calls.append(1), repeats=3)
    assert len(calls) == 4
    calls.clear()
    comparison.median_seconds(lambda: calls.append(1), repeats=3, warm_up=False)
    assert len(calls) == 3


def test_interleaved_rounds_take_every_measurement_in_turn():
    calls = []
    values = comparison.interleaved_rounds(
        {"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0}, 3)
    assert calls == ["a", "b"] * 3 and values == {"a": [1.0] * 3, "b": [2.0] * 3}


def test_scaling_curves_keep_each_pass_fastest_round(monkeypatch):
    rounds = iter([5.0, 7.0, 2.0, 9.0, 4.0, 1.0])  # round 1: (4, 8), round 2: (4, 8), ...
    monkeypatch.setattr(comparison, "median_seconds", lambda *args, **kwargs: next(rounds))
    curves = comparison.scaling_curves(
        {"block": lambda: transformer.TransformerEncoderBlock(8, 2, 16)}, [4, 8], batch=1,
        features=8, repeats=3)
    assert {n: cost.seconds for n, cost in curves["block"].items()} == {4: 2.0, 8: 1.0}


def test_compare_cells_reports_params_throughput_and_validation():
    from course_lib import models

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6, 1)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")

    def build(cell):
        model = models.forecaster(cell, window=6, horizon=2, units=3)
        model.compile("adam", "mse", metrics=["mae"])
        return model

    results = comparison.compare_cells(build, (x, y), (x, y), epochs=2, batch_size=16,
                                     cells=("simple_rnn", "gru"))
    assert [r["cell"] for r in results] == ["simple_rnn", "gru"]
    for result in results:
        assert result["rnn_params"] == result["rnn_params_formula"]
        assert result["examples_per_second"] > 0 and result["seconds_per_epoch"] > 0
        assert {"val_loss", "val_mae"} <= set(result)
    with pytest.raises(ValueError, match="epochs >= 2"):
        comparison.compare_cells(build, (x, y), (x, y), epochs=1)


def test_tuned_rates_pick_the_best_validation_score_with_ties_to_the_lower_rate(tmp_path):
    import json

    from course_lib import contenders

    record = tmp_path / "rates.json"
    record.write_text(json.dumps({"validation_exact_match": {
        "a": {"0.001": 0.2, "0.003": 0.7, "0.01": 0.5},
        "b": {"0.001": 0.4, "0.003": 0.4, "0.01": 0.1}}}))
    assert contenders.tuned_rates(record) == {"a": 0.003, "b": 0.001}
    with pytest.raises(FileNotFoundError, match="tools/tune_learning_rates.py"):
        contenders.tuned_rates(tmp_path / "missing.json")


def test_shipped_learning_rate_record_covers_every_contender_on_the_whole_grid():
    import json

    from course_lib import contenders, synthetic

    record = json.loads(contenders.TUNING_FILE.read_text())
    task = synthetic.date_task(200, n_test=50)
    assert set(record["validation_exact_match"]) == set(contenders.date_builders(task))
    for by_rate in record["validation_exact_match"].values():
        assert [float(r) for r in by_rate] == list(contenders.RATE_GRID)
    assert set(contenders.tuned_rates().values()) <= set(contenders.RATE_GRID)


def test_validation_dates_are_neither_training_nor_test_dates():
    from course_lib import contenders, synthetic

    task = synthetic.date_task(300, n_test=100)
    source, iso = contenders.validation_dates(task, n=80)
    assert source.shape[0] == len(iso) == 80
    assert not set(iso) & ({d for _, d, _ in task.train} | {d for _, d, _ in task.test})


def test_output_and_gradient_gap_is_zero_for_a_copy_and_sees_one_changed_weight():
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    layer, copy = keras.layers.GRU(4), keras.layers.GRU(4)
    layer.build(x.shape)
    copy.build(x.shape)
    copy.set_weights(layer.get_weights())
    assert comparison.output_and_gradient_gap(layer, copy, x) == 0.0
    bias = copy.get_weights()[2]
    bias[1, 0] += 1e-3  # one recurrent bias entry of the update gate
    copy.set_weights([*copy.get_weights()[:2], bias])
    assert 1e-6 < comparison.output_and_gradient_gap(layer, copy, x) < 1e-2
