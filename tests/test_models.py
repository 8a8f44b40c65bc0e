"""course_lib.models: the builders."""

import keras
import numpy as np
import pytest

from course_lib import models, recurrent


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_char_lm_maps_ids_to_logits_per_step(cell):
    model = models.char_lm(vocab_size=11, units=8, embedding_dim=4, cell=cell)
    logits = model(np.ones((2, 5), dtype="int32"))
    assert tuple(logits.shape) == (2, 5, 11)


@pytest.mark.parametrize("cell", models.RECURRENT_LAYERS)
def test_recurrent_layers_are_the_course_classes_with_the_measured_kernel_default(cell):
    layer = models.recurrent_layer(cell, 8)
    course_class = getattr(recurrent, models.RECURRENT_LAYERS[cell])
    assert type(layer) is course_class and isinstance(layer, keras.layers.RNN)
    assert layer.cpu_kernel == recurrent.CPU_KERNEL_BY_DEFAULT[course_class.__name__]
    assert not models.recurrent_layer(cell, 8, cpu_kernel=False).cpu_kernel


def test_unknown_cell_is_rejected():
    with pytest.raises(ValueError, match="choose one of simple_rnn, lstm, gru"):
        models.recurrent_layer("transformer", 8)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("reset_after", [True, False])
def test_recurrent_param_formula_matches_keras(cell, reset_after):
    kwargs = {"reset_after": reset_after} if cell == "gru" else {}
    layer = models.recurrent_layer(cell, 7, **kwargs)
    layer.build((None, None, 5))
    assert models.recurrent_param_count(cell, 5, 7, reset_after) == layer.count_params()


def test_forecaster_maps_a_window_to_a_horizon():
    model = models.forecaster("gru", window=12, horizon=3, units=4)
    assert tuple(model(np.zeros((2, 12, 1), dtype="float32")).shape) == (2, 3)


@pytest.mark.parametrize("bidirectional,merge_mode,width",
                         [(False, "concat", 6), (True, "concat", 12), (True, "sum", 6)])
def test_tagger_output_and_merge_modes(bidirectional, merge_mode, width):
    model = models.sequence_tagger(20, n_tags=5, units=6, depth=2, bidirectional=bidirectional,
                                   merge_mode=merge_mode, dropout=0.1, residual=True)
    assert tuple(model(np.ones((3, 7), dtype="int32")).shape) == (3, 7, 5)
    assert model.layers[-2].output.shape[-1] == width


@pytest.mark.parametrize("input_dropout", [0.0, 0.5])
def test_masked_classifier_ignores_extra_padding(input_dropout):
    keras.utils.set_random_seed(0)
    model = models.sequence_classifier(30, units=8, depth=2, bidirectional=True,
                                       input_dropout=input_dropout)
    assert ("input_dropout" in [layer.name for layer in model.layers]) == bool(
        input_dropout)
    short = np.array([[4, 9, 2, 0]], dtype="int32")
    long = np.array([[4, 9, 2, 0, 0, 0, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(model.predict(short, verbose=0), model.predict(long, verbose=0),
                               atol=1e-6)


def test_word_dropout_replaces_words_by_unk_only_while_training_and_keeps_padding():
    layer = models.WordDropout(0.5, unknown_id=1, seed=0)
    ids = np.tile(np.array([[5, 6, 7, 8, 9, 0, 0]], "int32"), (200, 1))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids)), ids)
    dropped = keras.ops.convert_to_numpy(layer(ids, training=True))
    assert np.all(dropped[:, 5:] == 0), "padding must stay padding"
    share = np.mean(dropped[:, :5] == 1)
    assert 0.45 < share < 0.55, share
    assert np.all((dropped[:, :5] == 1) | (dropped[:, :5] == ids[:, :5]))
    assert models.WordDropout.from_config(layer.get_config()).rate == 0.5
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        models.WordDropout(1.0)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_char_aware_tagger_tags_every_position_and_masks_padding(bidirectional):
    keras.utils.set_random_seed(0)
    model = models.char_aware_tagger(30, 20, n_tags=5, units=8, char_filters=6,
                                     bidirectional=bidirectional)
    words = np.array([[3, 4, 5, 0], [6, 7, 0, 0]], "int32")
    chars = np.random.default_rng(0).integers(1, 20, size=(2, 4, 16)).astype("int32")
    logits = keras.ops.convert_to_numpy(model({"words": words, "chars": chars}))
    assert logits.shape == (2, 4, 5)
    longer = {"words": np.pad(words, ((0, 0), (0, 3))), "chars": np.pad(chars, ((0, 0), (0, 3),
                                                                                 (0, 0)))}
    padded = keras.ops.convert_to_numpy(model(longer))
    if not bidirectional:  # a forward tagger's outputs at real positions ignore later padding
        np.testing.assert_allclose(padded[0, :3], logits[0, :3], atol=1e-5)
    else:  # the backward direction skips masked steps: the same outputs too
        np.testing.assert_allclose(padded[1, :2], logits[1, :2], atol=1e-5)


@pytest.mark.parametrize("mixer", models.MIXERS)
def test_residual_lm_is_causal_for_every_mixer(mixer):
    keras.utils.set_random_seed(0)
    model = models.residual_lm(11, mixer, width=16, blocks=1, length=9)
    ids = np.random.default_rng(0).integers(1, 11, size=(2, 9)).astype("int32")
    changed = ids.copy()
    changed[:, 6:] = (changed[:, 6:] % 10) + 1  # a different future from step 6 on
    logits, changed_logits = model.predict(ids, verbose=0), model.predict(changed, verbose=0)
    assert logits.shape == (2, 9, 11)
    np.testing.assert_allclose(logits[:, :6], changed_logits[:, :6], atol=1e-5)
    assert not np.allclose(logits[:, 6:], changed_logits[:, 6:])


def test_unknown_mixer_names_the_choices():
    with pytest.raises(ValueError, match="unknown mixer 'rnn'; choose one of lstm, gru"):
        models.residual_lm(11, "rnn")


def test_width_for_parameters_picks_the_closest_count():
    def build(width):
        return models.residual_lm(65, "min_gru", width, length=8)

    width = models.width_for_parameters(build, 40_000)
    best = abs(build(width).count_params() - 40_000)
    for other in (width - 8, width + 8):
        assert abs(build(other).count_params() - 40_000) >= best


@pytest.mark.parametrize("mixer", ["lstm", "min_gru", "diagonal", "selective", "attention"])
def test_sequence_regressor_reads_the_last_step(mixer):
    model = models.sequence_regressor(mixer, 8, length=12, features=2, heads=2)
    x = np.random.default_rng(0).normal(size=(3, 12, 2)).astype("float32")
    assert model.predict(x, verbose=0).shape == (3, 1)
    changed = x.copy()
    changed[:, -1] += 1.0  # the last step reaches the prediction
    assert not np.allclose(model.predict(x, verbose=0), model.predict(changed, verbose=0))
