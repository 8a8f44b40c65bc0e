import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import training


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


def test_compare_cells_reports_params_throughput_and_validation():
    from course_lib import models

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6, 1)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")

    def build(cell):
        model = models.forecaster(cell, window=6, horizon=2, units=3)
        model.compile("adam", "mse", metrics=["mae"])
        return model

    results = training.compare_cells(build, (x, y), (x, y), epochs=2, batch_size=16,
                                     cells=("simple_rnn", "gru"))
    assert [r["cell"] for r in results] == ["simple_rnn", "gru"]
    for result in results:
        assert result["rnn_params"] == result["rnn_params_formula"]
        assert result["examples_per_second"] > 0 and result["seconds_per_epoch"] > 0
        assert {"val_loss", "val_mae"} <= set(result)
    with pytest.raises(ValueError, match="epochs >= 2"):
        training.compare_cells(build, (x, y), (x, y), epochs=1)


def test_seconds_per_train_step_times_compiled_steps():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((4, 3), dtype="float32"), np.zeros((4, 1), dtype="float32")
    seconds = training.seconds_per_train_step(model, x, y, steps=3)
    assert 0 < seconds < 5
    assert int(model.optimizer.iterations.numpy()) == 4  # warm-up + 3 timed steps
