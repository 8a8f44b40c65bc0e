"""Transformer pieces (positions, masks, blocks) and the encoder–decoder transformer."""

import keras
import numpy as np
import pytest

from course_lib import decoding, runtime, transformer
from course_lib.transformer import TransformerEncoderDecoder

START, END = 2, 3
SRC = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]], "int32")
TGT_IN = np.array([[START, 4, 5, 0], [START, 6, 7, 8]], "int32")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 5, 8)).astype("float32")
PADDING = np.array([[True, True, True, False, False], [True] * 5])


def _model(**kwargs):
    runtime.set_seed(0)
    settings = dict(d_model=8, heads=2, ff_units=16, encoder_layers=2, decoder_layers=2,
                    dropout=0.0)
    return TransformerEncoderDecoder(12, 9, **{**settings, **kwargs})


def test_sinusoidal_encoding_values_follow_the_paper():
    encoding = transformer.sinusoidal_encoding(50, 6)
    p, i = 7, 1  # position 7, pair 1: angle 7 / 10000 ** (2 / 6)
    angle = 7 / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(encoding[p, 2 * i], np.sin(angle), rtol=1e-6)
    np.testing.assert_allclose(encoding[p, 2 * i + 1], np.cos(angle), rtol=1e-6)
    np.testing.assert_array_equal(encoding[0, 0::2], 0.0)
    np.testing.assert_array_equal(encoding[0, 1::2], 1.0)
    with pytest.raises(ValueError, match="depth must be even, got 5"):
        transformer.sinusoidal_encoding(4, 5)


def test_positional_layers_add_a_vector_per_position_and_honour_the_start():
    zeros = np.zeros((2, 6, 8), "float32")
    sinusoidal = transformer.SinusoidalPositionalEncoding()
    np.testing.assert_allclose(sinusoidal(zeros)[0], transformer.sinusoidal_encoding(6, 8),
                               atol=1e-5)
    np.testing.assert_allclose(sinusoidal(zeros[:, :2], start=4)[1],
                               transformer.sinusoidal_encoding(6, 8)[4:], atol=1e-5)
    learned = transformer.LearnedPositionalEmbedding(10)
    out = keras.ops.convert_to_numpy(learned(zeros))
    np.testing.assert_allclose(out[0], out[1])  # the same vector for every example
    np.testing.assert_allclose(learned(zeros[:, :2], start=4)[0], out[0, 4:6])
    assert transformer.positional_layer(None) is None
    with pytest.raises(ValueError, match="unknown positions 'rotary'"):
        transformer.positional_layer("rotary")


def test_causal_and_padding_masks():
    np.testing.assert_array_equal(transformer.causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    mask = keras.ops.convert_to_numpy(transformer.attention_mask(PADDING, PADDING, causal=True))
    assert mask.shape == (2, 5, 5)
    np.testing.assert_array_equal(mask[1], transformer.causal_mask(5))
    assert not mask[0, :, 3:].any() and not mask[0, 3:].any()
    assert transformer.attention_mask() is None


def test_encoder_block_keeps_shape_and_ignores_padded_positions():
    block = transformer.TransformerEncoderBlock(8, 2, 16)
    out = block(X, padding_mask=PADDING)
    assert tuple(out.shape) == (2, 5, 8)
    changed = X.copy()
    changed[0, 3:] = 100.0
    np.testing.assert_allclose(block(changed, padding_mask=PADDING)[0, :3], out[0, :3], atol=1e-5)


def test_encoder_without_positions_is_permutation_equivariant_and_with_them_is_not():
    block = transformer.TransformerEncoderBlock(8, 2, 16)
    order = np.array([3, 0, 4, 1, 2])
    np.testing.assert_allclose(block(X[:, order]), keras.ops.take(block(X), order, axis=1),
                               atol=1e-5)
    positions = transformer.SinusoidalPositionalEncoding()
    with_positions = keras.ops.take(block(positions(X)), order, axis=1)
    assert not np.allclose(block(positions(X[:, order])), with_positions, atol=1e-3)


def test_decoder_block_is_causal():
    block = transformer.TransformerDecoderBlock(8, 2, 16)
    memory = RNG.normal(size=(2, 3, 8)).astype("float32")
    out = block(X, memory)
    assert tuple(out.shape) == (2, 5, 8)
    changed = X.copy()
    changed[:, 3:] = -50.0  # the future must not change the past
    np.testing.assert_allclose(block(changed, memory)[:, :3], out[:, :3], atol=1e-5)


def test_decoder_block_step_with_a_kv_cache_equals_the_causal_pass():
    block = transformer.TransformerDecoderBlock(8, 2, 16)
    memory = RNG.normal(size=(2, 3, 8)).astype("float32")
    out = keras.ops.convert_to_numpy(block(X, memory))
    keys = values = np.zeros((2, 0, 2, 4), "float32")  # (batch, 0 positions, heads, head_dim)
    for t in range(X.shape[1]):
        step, keys, values = block.step(X[:, t:t + 1], memory, None, keys, values)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(step)[:, 0], out[:, t], atol=1e-5)
    assert tuple(keys.shape) == tuple(values.shape) == (2, 5, 2, 4)
    # the cache holds the projections themselves: keys = key_dense(norm(x)), nothing recomputed
    expected_keys = block.self_attention.key_dense(block.norm_self(X))
    np.testing.assert_allclose(keys, expected_keys, atol=1e-5)


def test_blocks_refuse_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="divisible by heads, got 10 and 4"):
        transformer.TransformerEncoderBlock(10, 4, 16)


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_logits_shape_and_extra_source_padding_changes_nothing(positions):
    model = _model(positions=positions)
    logits = model((SRC, TGT_IN))
    assert tuple(logits.shape) == (2, 4, 9)
    padded = np.pad(SRC, ((0, 0), (0, 3)))
    np.testing.assert_allclose(model((padded, TGT_IN)), logits, atol=1e-5)


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_step_by_step_decoding_with_the_cache_equals_the_teacher_forced_pass(
        positions, decodes_step_by_step):
    model = _model(positions=positions)
    assert model.start_state(SRC)[2].shape == (2, 0, 2, 4)  # keys: (batch, 0, heads, head_dim)
    # the cache grows by one position per token
    decodes_step_by_step(model, SRC, TGT_IN, state_length=lambda t: t + 1)


def test_greedy_and_beam_search_decode_the_transformer():
    model = _model()
    greedy = decoding.greedy_decode(model, SRC, START, END, max_length=6)
    ids, _ = decoding.beam_search(model, SRC, START, END, max_length=6, beam_width=1)
    np.testing.assert_array_equal(ids[:, 0], greedy)
    ids, scores = decoding.beam_search(model, SRC, START, END, max_length=6, beam_width=3)
    assert ids.shape == (2, 3, 6) and np.all(np.diff(scores, axis=1) <= 1e-9)


def test_transformer_learns_to_copy_and_survives_a_save_and_load(learns_to_copy):
    learns_to_copy(_model(d_model=16, ff_units=32, encoder_layers=1, decoder_layers=1), SRC, TGT_IN)


@pytest.mark.parametrize("make", [
    lambda: transformer.SinusoidalPositionalEncoding(),
    lambda: transformer.LearnedPositionalEmbedding(7),
    lambda: transformer.TransformerEncoderBlock(8, 2, 16, dropout=0.1),
])
def test_layers_round_trip_through_their_config_and_a_saved_model(make, tmp_path):
    layer = make()
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, layer(inputs))
    before = model.predict(X, verbose=0)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    model.save(tmp_path / "layer.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "layer.keras").predict(
        X, verbose=0), before, atol=1e-6)
