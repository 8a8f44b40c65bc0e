import keras
import numpy as np
import pytest

from course_lib import layers

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3, 4)).astype("float32")
VALUES = RNG.normal(size=(2, 5, 4)).astype("float32")
MASK = np.array([[True] * 5, [True, True, False, False, False]])


def _identity(layer):
    for dense in (layer.query_dense, layer.key_dense):
        dense.set_weights([np.eye(4, dtype="float32")])
    layer.score_dense.set_weights([np.ones((4, 1), "float32")])


# Keras' own attention layers broadcast a (batch, value_time) mask wrongly when the query and
# value lengths differ before Keras 3.12; there they are only a reference without a mask.
KERAS_MASKS_RIGHT = tuple(int(v) for v in keras.version().split(".")[:2]) >= (3, 12)
MASKS = [None, pytest.param(MASK, marks=pytest.mark.skipif(
    not KERAS_MASKS_RIGHT, reason="keras.layers.Attention masks wrongly before Keras 3.12"))]


@pytest.mark.parametrize("mask", MASKS, ids=["no mask", "mask"])
def test_additive_with_identity_projections_equals_keras_additive_attention(mask):
    ours = layers.AdditiveAttention(4)
    ours(QUERY, VALUES, values_mask=mask)
    _identity(ours)
    context, _ = ours(QUERY, VALUES, values_mask=mask)
    reference = keras.layers.AdditiveAttention(use_scale=False)(
        [QUERY, VALUES], mask=[None, mask])
    np.testing.assert_allclose(context, reference, atol=1e-5)


@pytest.mark.parametrize("mask", MASKS, ids=["no mask", "mask"])
def test_dot_attention_equals_keras_attention(mask):
    context, _ = layers.MultiplicativeAttention("dot")(QUERY, VALUES, values_mask=mask)
    reference = keras.layers.Attention()([QUERY, VALUES], mask=[None, mask])
    np.testing.assert_allclose(context, reference, atol=1e-5)


@pytest.mark.parametrize("layer", [layers.AdditiveAttention(6),
                                   layers.MultiplicativeAttention("dot"),
                                   layers.MultiplicativeAttention("general")])
def test_weights_sum_to_one_over_real_tokens_and_are_zero_on_padding(layer):
    _, weights = layer(QUERY, VALUES, MASK)
    weights = keras.ops.convert_to_numpy(weights)
    assert weights.shape == (2, 3, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[1, :, 2:] == 0.0) and np.all(weights[1, :, :2] > 0)


def test_context_ignores_values_at_padded_positions():
    layer = layers.MultiplicativeAttention("general")
    changed = VALUES.copy()
    changed[1, 2:] = 100.0
    np.testing.assert_allclose(layer(QUERY, VALUES, MASK)[0], layer(QUERY, changed, MASK)[0],
                               atol=1e-6)


def test_masked_softmax_survives_huge_scores():
    scores = np.array([[[1e4, -1e4, 3e4]]], "float32")
    weights = keras.ops.convert_to_numpy(layers.masked_softmax(scores, np.array([[1, 1, 0]])))
    np.testing.assert_allclose(weights, [[[1.0, 0.0, 0.0]]])


def test_general_score_allows_different_widths_and_dot_refuses_them():
    wide_values = RNG.normal(size=(2, 5, 7)).astype("float32")
    context, _ = layers.MultiplicativeAttention("general")(QUERY, wide_values, MASK)
    assert tuple(context.shape) == (2, 3, 7)
    with pytest.raises(ValueError, match="equal width.*score='general'"):
        layers.MultiplicativeAttention("dot")(QUERY, wide_values, MASK)


def test_unknown_attention_names_raise():
    with pytest.raises(ValueError, match="unknown score 'cosine'"):
        layers.MultiplicativeAttention("cosine")
    with pytest.raises(ValueError, match="unknown attention 'luong'"):
        layers.attention_layer("luong", 8)


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_attention_layer_survives_a_save_and_load(tmp_path, kind):
    query = keras.Input((None, 4))
    values = keras.Input((None, 4))
    context, weights = layers.attention_layer(kind, 4)(query, values)
    model = keras.Model([query, values], [context, weights])
    model.save(tmp_path / "attention.keras")
    loaded = keras.saving.load_model(tmp_path / "attention.keras")
    for ours, theirs in zip(model([QUERY, VALUES]), loaded([QUERY, VALUES]), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
