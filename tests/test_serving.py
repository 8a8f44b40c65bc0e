import keras
import numpy as np
import pytest

from course_lib import minimal_rnn, models, serving

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    lm = models.char_lm(13, units=12, embedding_dim=6, cell="lstm")
    step = serving.step_model(lm)
    folder = serving.export_saved_model(step, tmp_path_factory.mktemp("saved") / "step")
    return lm, step, folder, serving.to_tflite(folder)


def test_the_step_model_streams_what_the_whole_sequence_model_computes(exported):
    lm, step, _, _ = exported
    tokens = np.random.default_rng(0).integers(0, 13, size=(3, 9)).astype("int32")
    states = [np.zeros((3, 12), np.float32)] * 2
    streamed, _ = serving.stream(serving.keras_runner(step), tokens, states)
    np.testing.assert_allclose(streamed, lm.predict(tokens, verbose=0), atol=TOLERANCE)


def test_keras_saved_model_and_tflite_agree_token_by_token(exported):
    _, step, folder, flatbuffer = exported
    tokens = np.random.default_rng(1).integers(0, 13, size=(2, 20)).astype("int32")
    states = [np.zeros((2, 12), np.float32)] * 2
    reference, reference_states = serving.stream(serving.keras_runner(step), tokens, states)
    for run in (serving.saved_model_runner(folder), serving.tflite_runner(flatbuffer, 2)):
        logits, final = serving.stream(run, tokens, states)
        np.testing.assert_allclose(logits, reference, atol=TOLERANCE)
        for got, expected in zip(final, reference_states, strict=True):
            np.testing.assert_allclose(got, expected, atol=TOLERANCE)


@pytest.mark.parametrize("cell", ["gru", "simple_rnn"])
def test_one_state_cells_export_too(cell):
    lm = models.char_lm(7, units=5, embedding_dim=3, cell=cell)
    step = serving.step_model(lm)
    assert len(step.outputs) == 2 and serving.state_sizes(lm.get_layer("rnn")) == [5]


def test_a_layer_without_a_keras_cell_gets_a_clear_error():
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(7, 3, name="embedding")(ids)
    x = minimal_rnn.MinGRU(4, name="rnn")(x)
    lm = keras.Model(ids, keras.layers.Dense(7, name="logits")(x))
    with pytest.raises(ValueError, match="exports Keras SimpleRNN, LSTM and GRU"):
        serving.step_model(lm)
    with pytest.raises(ValueError, match="layers named embedding, rnn and logits"):
        serving.step_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
