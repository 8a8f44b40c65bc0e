import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import training


def test_steady_input_turns_autotuning_off_and_keeps_the_batches():
    batches = tf.data.Dataset.range(10).batch(3)
    steady = training.steady_input(batches)
    assert steady.options().autotune.enabled is False
    assert [b.numpy().tolist() for b in steady] == [b.numpy().tolist() for b in batches]


def test_the_course_pipelines_run_without_autotuning():
    from course_lib import forecast, text

    ids = np.arange(200)
    pipelines = [text.next_token_dataset(ids, 5, 4), text.stateful_next_token_dataset(ids, 5, 4),
                 text.padded_dataset([ids[:3], ids[:5]], [ids[:3], ids[:5]], batch_size=2),
                 forecast.windowed_dataset(np.arange(100.0), 10, 2, 10, 90)]
    assert [pipeline.options().autotune.enabled for pipeline in pipelines] == [False] * 4


def test_global_norm_matches_tensorflow():
    tensors = [np.arange(6.0).reshape(2, 3), np.array([3.0, -4.0])]
    expected = float(tf.linalg.global_norm([tf.constant(t) for t in tensors]))
    assert training.global_norm(tensors) == pytest.approx(expected)


def test_gradient_norm_logger_matches_gradient_tape_and_fills_history():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 5, 2)).astype("float32")
    y = x.sum(axis=(1, 2))
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(4),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")  # lr 0: weights (and the norm) stay fixed
    logger = training.GradientNormLogger(x[:8], y[:8], every=2)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[logger])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.mean_squared_error(y[:8], model(x[:8])))
    expected = float(tf.linalg.global_norm(tape.gradient(loss, model.trainable_weights)))
    assert logger.steps == [2, 4, 6, 8, 10, 12, 14, 16]
    np.testing.assert_allclose(logger.norms, expected, rtol=1e-5)
    np.testing.assert_allclose(history.history["grad_norm"], expected, rtol=1e-5)


def test_stateful_char_lm_carries_state_and_resets_each_epoch():
    from course_lib import models

    keras.utils.set_random_seed(0)
    model = models.char_lm(vocab_size=6, units=4, embedding_dim=3, cell="lstm",
                           stateful_batch_size=2)
    ids = np.ones((2, 5), dtype="int32")
    first = keras.ops.convert_to_numpy(model(ids))
    carried = keras.ops.convert_to_numpy(model(ids))
    assert not np.allclose(first, carried)  # the second call starts from the carried state
    callback = training.ResetStatesEachEpoch()
    callback.set_model(model)
    callback.on_epoch_begin(0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(ids)), first, rtol=1e-6)


def test_seconds_per_train_step_times_compiled_steps():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((4, 3), dtype="float32"), np.zeros((4, 1), dtype="float32")
    seconds = training.seconds_per_train_step(model, x, y, steps=3)
    assert 0 < seconds < 5
    assert int(model.optimizer.iterations.numpy()) == 4  # warm-up + 3 timed steps


# --- the fast path -------------------------------------------------------------------------


def _adding_model(cell: str = "lstm", units: int = 16, length: int = 20):
    from course_lib import models

    inputs = keras.Input((length, 2))
    state = models.recurrent_layer(cell, units)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(state))


def test_fast_path_on_a_cpu_compiles_small_recurrent_models_with_xla():
    model = _adding_model("simple_rnn", 16)
    path = training.fast_compile(model, keras.optimizers.Adam(1e-3), "mse")
    assert (path.device, path.jit_compile, path.steps_per_execution) == ("CPU", True, 16)
    assert model.jit_compile is True and model.steps_per_execution == 16
    assert "jit_compile=True" in str(path)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fast_path_leaves_xla_off_for_keras_gated_loops_on_a_cpu(cell):
    from course_lib import recurrent

    def model(layer):
        inputs = keras.Input((20, 2))
        return keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))

    path = training.choose_fast_path(model(recurrent.LAYERS[cell](16, cpu_kernel=False)))
    assert (path.jit_compile, path.steps_per_execution) == (False, 16)
    assert "LSTM/GRU loop" in path.reason
    # the same cell on the course's CPU kernel keeps XLA
    kernel_model = model(recurrent.LAYERS[cell](16, cpu_kernel=True))
    assert training.choose_fast_path(kernel_model).jit_compile is True


def test_fast_path_leaves_xla_and_multi_step_calls_off_for_a_large_language_model():
    from course_lib import models

    model = models.char_lm(vocab_size=65, units=256, cell="lstm")
    path = training.choose_fast_path(model, data=np.zeros((64, 100), "int32"))
    assert path.jit_compile is False and path.steps_per_execution == 1
    assert "294,912 weights" in path.reason  # (32 inputs + 256 units) x 256 units x 4 gates
    varying = training.choose_fast_path(model)  # ids (batch, None): XLA off for two reasons
    assert varying.steps_per_execution == 1 and "vary in length" in varying.reason


def test_fast_path_uses_xla_only_for_sequences_of_one_length():
    from course_lib import models, text

    model = models.char_lm(vocab_size=20, units=16, cell="simple_rnn")  # ids: (batch, None)
    assert "vary in length" in training.choose_fast_path(model).reason
    fixed = text.next_token_dataset(np.arange(2000) % 20, 50, 16, shuffle=False)
    assert training.choose_fast_path(model, data=fixed).jit_compile is True
    ragged = text.padded_dataset([np.ones(n, "int32") for n in range(1, 40)], np.zeros(39), 8)
    path = training.choose_fast_path(model, data=ragged)
    assert path.jit_compile is False and "vary in length" in path.reason


class _NoXla(keras.layers.Layer):
    """Stands for a layer XLA cannot compile (string lookups, some custom ops)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_jit = False

    def call(self, x):
        return x


def test_fast_path_falls_back_with_a_one_line_notice(capsys):
    inputs = keras.Input((20, 2))
    x = _NoXla(name="string_ops")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.SimpleRNN(4)(x)))
    path = training.fast_compile(model, "adam", "mse")
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "'string_ops' cannot be compiled by XLA" in printed[0]
    assert path.jit_compile is False and model.jit_compile is False
    assert path.xla_blocked_by == "string_ops"
    x_add, y_add = np.zeros((64, 20, 2), "float32"), np.zeros((64, 1), "float32")
    model.fit(x_add, y_add, batch_size=16, verbose=0)  # trains on the fallback


def test_fast_path_on_a_gpu_keeps_cudnn_and_leaves_xla_to_keras(monkeypatch):
    from course_lib import runtime

    monkeypatch.setattr(runtime, "gpu_names", lambda: ["/device:GPU:0"])
    path = training.choose_fast_path(_adding_model("lstm"))
    assert (path.device, path.jit_compile, path.steps_per_execution) == ("GPU", "auto", 1)


def test_settings_passed_explicitly_win_over_the_choice():
    model = _adding_model()
    path = training.fast_compile(model, "adam", "mse", jit_compile=False, steps_per_execution=1)
    assert (path.jit_compile, path.steps_per_execution) == (False, 1)
    assert model.jit_compile is False and model.steps_per_execution == 1


def test_fast_settings_are_keras_compile_arguments_printed_once_per_process(monkeypatch, capsys):
    monkeypatch.setattr(training, "_announced", False)
    model = _adding_model()
    settings = training.fast_settings(model)
    assert set(settings) == {"jit_compile", "steps_per_execution"}
    assert settings["jit_compile"] == training.choose_fast_path(model).jit_compile
    model.compile("adam", "mse", **settings)
    assert model.steps_per_execution == settings["steps_per_execution"]
    training.fast_settings(model)  # the second call in a process is silent
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("fast path (")
    assert training.fast_settings(model, steps_per_execution=1)["steps_per_execution"] == 1
    with pytest.raises(TypeError, match="pass other compile arguments to model.compile"):
        training.fast_settings(model, loss="mse")


def test_same_seeded_model_reaches_comparable_loss_on_plain_and_fast_paths():
    from course_lib import synthetic

    x_add, y_add = synthetic.adding_problem(4096, 10, seed=0)
    results = {}
    for name in ("plain", "fast"):
        keras.utils.set_random_seed(0)
        model = _adding_model("lstm", 16, length=10)
        if name == "plain":
            model.compile(keras.optimizers.Adam(1e-2), "mse")
        else:
            path = training.fast_compile(model, keras.optimizers.Adam(1e-2), "mse")
            assert path.steps_per_execution == 16  # LSTM: 16 steps per call, XLA off
        first = model.train_on_batch(x_add[:64], y_add[:64])
        history = model.fit(x_add, y_add, batch_size=64, epochs=5, verbose=0, shuffle=False)
        results[name] = (first, history.history["loss"][-1])
    (first_plain, final_plain), (first_fast, final_fast) = results["plain"], results["fast"]
    assert first_fast == pytest.approx(first_plain, rel=1e-5)  # the same first step
    assert final_plain < 0.02 and final_fast < 0.02  # both learn (predicting the mean: ~0.167)
    assert final_fast == pytest.approx(final_plain, rel=0.25)


def test_gradient_norm_logger_counts_steps_run_several_per_call():
    x = np.random.default_rng(0).normal(size=(64, 5, 2)).astype("float32")
    y = x.sum(axis=(1, 2))
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(4),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=4)
    logger = training.GradientNormLogger(x[:8], y[:8], every=8)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[logger])  # 16 steps/epoch
    assert logger.steps == [8, 16, 24, 32]
    with pytest.raises(ValueError, match="steps_per_execution=1"):
        model.fit(x, y, batch_size=4, verbose=0,
                  callbacks=[training.GradientNormLogger(x[:8], y[:8], every=6)])


# --- the course's callback set --------------------------------------------------------------


def _stuck_model(learning_rate: float = 0.1):
    """A model whose loss cannot move (zero inputs, no bias): every epoch is a plateau."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(learning_rate), "mse")
    return model, np.zeros((32, 3), "float32"), np.ones((32, 1), "float32")


def test_plateau_schedule_halves_the_rate_and_early_stopping_ends_the_run():
    model, x, y = _stuck_model()
    callbacks = training.course_callbacks("plateau", profile="fast", monitor="loss")
    history = model.fit(x, y, epochs=10, batch_size=8, verbose=0, callbacks=callbacks)
    # fast profile: halve after 1 stalled epoch, stop after 2
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)
    stop = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    assert stop.restore_best_weights and stop.patience == training.PATIENCE["fast"]["stop"]
    full = training.course_callbacks("constant", profile="full")
    assert next(c for c in full if isinstance(c, keras.callbacks.EarlyStopping)).patience == 5


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_cosine_schedule_warms_up_then_decays_to_zero_per_step(steps_per_execution):
    """4 epochs of 4 steps, 1 warm-up epoch; the rate is right even when one compiled call
    runs a whole epoch (the schedule lives in the optimizer, not in a per-call callback)."""
    model, x, y = _stuck_model(0.2)
    model.compile(keras.optimizers.SGD(0.2), "mse", steps_per_execution=steps_per_execution)
    callbacks = training.course_callbacks("cosine", epochs=4, early_stopping=False)
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=callbacks)
    # logged at each epoch's end = the rate of the next step: 4 = end of warm-up (peak), then
    # cosine over the remaining 12 steps: 0.5 * (1 + cos(pi * k / 12)) for k = 4, 8, 12
    np.testing.assert_allclose(history.history["learning_rate"], [0.2, 0.15, 0.05, 0.0],
                               atol=1e-6)
    schedule = model.optimizer._learning_rate
    rates = [float(schedule(step)) for step in range(17)]
    np.testing.assert_allclose(rates[:5], [0.0, 0.05, 0.1, 0.15, 0.2], atol=1e-6)
    assert all(a >= b for a, b in zip(rates[4:], rates[5:], strict=False))


def test_cosine_schedule_refuses_a_used_optimizer_and_unknown_lengths():
    model, x, y = _stuck_model(0.2)
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="fresh optimizer.*compile the model again"):
        model.fit(x, y, epochs=2, verbose=0,
                  callbacks=training.course_callbacks("cosine", epochs=2, early_stopping=False))
    model, x, y = _stuck_model(0.2)
    unknown_length = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).filter(
        lambda *_: True)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(unknown_length, epochs=2, verbose=0,
                  callbacks=training.course_callbacks("cosine", epochs=2, early_stopping=False))


def test_gradient_probe_puts_the_norm_into_the_history_and_bad_arguments_are_named():
    model, x, y = _stuck_model()
    callbacks = training.course_callbacks("constant", gradient_probe=(x[:4], y[:4]),
                                          early_stopping=False)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=callbacks)
    assert len(history.history["grad_norm"]) == 2
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1])
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        training.course_callbacks("step")
    with pytest.raises(ValueError, match="needs epochs"):
        training.course_callbacks("cosine")
    with pytest.raises(ValueError, match="unknown profile"):
        training.course_callbacks(profile="slow")


@pytest.mark.parametrize("optimizer", [keras.optimizers.SGD, keras.optimizers.Adam])
def test_gradient_accumulation_matches_one_large_batch_step(optimizer):
    """Keras optimizers accumulate: 4 micro-batches of 16 = one step on the batch of 64 (dense
    gradients; an Embedding's sparse gradient: tests/test_optimizers.py)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 3)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    weights = {}
    for name, batch, accumulate in [("large batch", 64, None), ("accumulated", 16, 4)]:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(5), keras.layers.Dense(1)])
        model.compile(optimizer(0.05, gradient_accumulation_steps=accumulate), "mse")
        model.fit(x, y, batch_size=batch, epochs=2, shuffle=False, verbose=0)
        weights[name] = model.get_weights()
    keras.utils.set_random_seed(0)
    untrained = keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(5),
                                  keras.layers.Dense(1)]).get_weights()
    for large, accumulated in zip(weights["large batch"], weights["accumulated"], strict=True):
        np.testing.assert_allclose(accumulated, large, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(w, s) for w, s in zip(weights["large batch"], untrained,
                                                     strict=True))


def test_walk_layers_finds_wrapped_nested_and_attribute_layers():
    from course_lib.seq2seq import EncoderDecoder

    inner = keras.Sequential([keras.Input((5, 3)), keras.layers.Bidirectional(
        keras.layers.GRU(4, return_sequences=True)), keras.layers.LSTM(2)])
    outer = keras.Sequential([keras.Input((5, 3)), inner, keras.layers.Dense(1)])
    kinds = [type(layer).__name__ for layer in training.find_recurrent_layers(outer)]
    assert sorted(kinds) == ["GRU", "GRU", "LSTM"]  # both directions of the Bidirectional
    seq2seq_model = EncoderDecoder(10, 12, units=4, attention="additive")
    names = {layer.name for layer in training.walk_layers(seq2seq_model)}
    assert len(training.find_recurrent_layers(seq2seq_model)) == 2 and "encoder" in names


def test_progress_line_prints_the_last_epoch_and_at_most_one_line_per_interval(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="tiny")
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, epochs=4, verbose=0, callbacks=[training.ProgressLine(min_seconds=60)])
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("tiny: epoch 4/4  loss 0") and line.endswith(" s)")
    model.fit(x, y, epochs=3, verbose=0, callbacks=[training.ProgressLine(min_seconds=0)])
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_cosine_with_warmup_rates_are_the_rates_the_optimizer_uses():
    cosine = training.CosineWithWarmup(epochs=3, warmup_epochs=1)
    rates = cosine.rates(0.1, steps_per_epoch=4)
    assert rates.shape == (12,) and rates[0] == 0.0
    assert rates[4] == pytest.approx(0.1) and np.all(np.diff(rates[:5]) > 0)
    assert np.all(np.diff(rates[4:]) < 0) and rates[-1] < 0.01
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    seen = []
    logger = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(
        float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))))
    model.fit(np.zeros((16, 3), "float32"), np.zeros((16, 1), "float32"), batch_size=4,
              epochs=3, steps_per_epoch=4, verbose=0, callbacks=[cosine, logger])
    np.testing.assert_allclose(seen, rates, rtol=1e-5, atol=1e-7)
