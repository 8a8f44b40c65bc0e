"""Keras' optimizers on an Embedding's sparse gradient, and course_lib.optimizers' fix."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import optimizers

UNIQUE = np.array([[1, 2, 3, 4, 5, 6]], "int32")
REPEATED = np.array([[1, 1, 2, 1], [3, 1, 2, 2]], "int32")


def _table_after(optimizer, ids: np.ndarray, via_one_hot: bool, steps: int = 3,
                 jit_compile: bool = False) -> np.ndarray:
    """The embedding table after ``steps`` updates, trained through Keras' Embedding (a sparse,
    IndexedSlices gradient) or through one_hot @ table (the same function, a dense gradient).
    ids: (batch, time) int32; returns (7, 3) float32."""
    vocab, dim = 7, 3
    table = np.random.default_rng(1).normal(size=(vocab, dim)).astype("float32")
    targets = np.random.default_rng(0).normal(size=(*ids.shape, dim)).astype("float32")
    inputs = keras.Input(ids.shape[1:], dtype="int32")
    if via_one_hot:
        layer = keras.layers.Dense(dim, use_bias=False)
        outputs = layer(keras.layers.Lambda(lambda t: keras.ops.one_hot(t, vocab))(inputs))
    else:
        layer = keras.layers.Embedding(vocab, dim)
        outputs = layer(inputs)
    layer.set_weights([table])
    model = keras.Model(inputs, outputs)
    model.compile(optimizer, "mse", jit_compile=jit_compile)
    for _ in range(steps):
        model.train_on_batch(ids, targets)
    return layer.get_weights()[0]


def _sparse_minus_dense(make_optimizer, ids, **kwargs) -> float:
    return float(np.abs(_table_after(make_optimizer(), ids, False, **kwargs)
                        - _table_after(make_optimizer(), ids, True, **kwargs)).max())


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
def test_keras_optimizers_get_an_embedding_with_repeated_ids_wrong(name):
    """Minimal reproduction (Keras 3.8–3.15): without repeated ids in a batch the sparse and the
    dense update agree exactly; with repeats they do not (Adam: 0.29 after three steps). If this
    test fails, Keras has fixed it: notebook 08's paragraph and course_lib.optimizers can go."""
    make = getattr(keras.optimizers, name)
    assert _sparse_minus_dense(lambda: make(0.1), UNIQUE) < 1e-6
    difference = _sparse_minus_dense(lambda: make(0.1), REPEATED)
    assert difference > 0.05, f"Keras' {name} now agrees ({difference:.2g}): update notebook 08"


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_course_optimizers_make_the_dense_update_on_an_embedding(name, jit_compile):
    make = getattr(optimizers, name)
    assert _sparse_minus_dense(lambda: make(0.1), REPEATED, jit_compile=jit_compile) < 1e-6


def test_course_adam_with_accumulation_matches_the_large_batch_on_an_embedding():
    """Two micro-batches accumulated = one step on their concatenation, embedding included."""
    halves = [REPEATED[:1], REPEATED[1:]]
    targets = np.random.default_rng(0).normal(size=(*REPEATED.shape, 3)).astype("float32")
    tables = []
    for accumulate in (None, 2):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(7, 3)])
        model.compile(optimizers.Adam(0.1, gradient_accumulation_steps=accumulate), "mse")
        for _ in range(3):
            if accumulate:
                for rows, half in zip(halves, np.split(targets, 2), strict=True):
                    model.train_on_batch(rows, half)
            else:
                model.train_on_batch(REPEATED, targets)
        tables.append(model.get_weights()[0])
    np.testing.assert_allclose(tables[1], tables[0], atol=1e-6)


def test_sum_repeated_rows_sums_slices_of_one_row_and_leaves_dense_gradients_alone():
    slices = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
                              tf.constant([4, 0, 4]), tf.constant([5, 2]))
    summed = optimizers.sum_repeated_rows(slices)
    assert summed.indices.numpy().tolist() == [4, 0]
    np.testing.assert_array_equal(summed.values.numpy(), [[6.0, 8.0], [3.0, 4.0]])
    np.testing.assert_array_equal(tf.convert_to_tensor(summed), tf.convert_to_tensor(slices))
    dense = tf.ones((2, 2))
    assert optimizers.sum_repeated_rows(dense) is dense


def test_course_adam_equals_keras_adam_on_dense_gradients_and_survives_saving(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5, 3)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    weights = []
    for make in (keras.optimizers.Adam, optimizers.Adam):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4), keras.layers.Dense(1)])
        model.compile(make(0.01), "mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for keras_weight, course_weight in zip(*weights, strict=True):
        np.testing.assert_array_equal(course_weight, keras_weight)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is optimizers.Adam
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.01)
