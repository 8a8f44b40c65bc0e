import keras
import numpy as np
import pytest

from course_lib import decoding, metrics, runtime, seq2seq
from course_lib.seq2seq import EncoderDecoder

PAD, START, END, A, B = 0, 1, 2, 3, 4


class TableModel:
    """A decoder whose next-token distribution depends only on the previous token; greedy picks
    A then END (p = 0.55 · 0.4 = 0.22) while B then END is more likely (0.45 · 0.9 = 0.405)."""

    table = {START: [0, 0, 0.0, 0.55, 0.45], A: [0, 0, 0.4, 0.3, 0.3], B: [0, 0, 0.9, 0.05, 0.05],
             END: [0, 0, 1.0, 0, 0]}

    def start_state(self, source_ids):
        return [np.asarray(source_ids)[:, :1].astype("float32")]

    def step(self, token_ids, state):
        with np.errstate(divide="ignore"):
            log_probs = np.log(np.array([self.table[int(t)] for t in token_ids]))
        return log_probs.astype("float32"), state


SOURCE = np.ones((3, 2), "int32")


def test_greedy_takes_the_locally_best_token_and_beam_finds_the_more_likely_output():
    greedy = decoding.greedy_decode(TableModel(), SOURCE, START, END, max_length=4)
    ids, scores = decoding.beam_search(TableModel(), SOURCE, START, END, 4, beam_width=2,
                                       alpha=0.0)
    assert greedy[0].tolist() == [A, END, PAD, PAD]
    assert ids[0, 0].tolist() == [B, END, PAD, PAD]
    np.testing.assert_allclose(scores[0], np.log([0.405, 0.22]), rtol=1e-5)


def test_beam_width_one_equals_greedy():
    ids, _ = decoding.beam_search(TableModel(), SOURCE, START, END, 5, beam_width=1)
    np.testing.assert_array_equal(ids[:, 0], decoding.greedy_decode(TableModel(), SOURCE, START,
                                                                    END, 5))


def test_beams_are_sorted_by_score_and_stop_at_the_end_token():
    ids, scores = decoding.beam_search(TableModel(), SOURCE, START, END, 6, beam_width=4)
    assert np.all(scores[:, :-1] >= scores[:, 1:])
    for row in ids.reshape(-1, 6):
        end_at = row.tolist().index(END)
        assert np.all(row[end_at + 1:] == PAD) and END not in row[:end_at]


def test_length_penalty_is_off_at_alpha_zero_and_grows_with_length():
    assert decoding.length_penalty(7, 0.0) == 1.0
    assert decoding.length_penalty(1, 1.0) == 1.0 and decoding.length_penalty(7, 1.0) == 2.0


def test_strip_special_cuts_at_the_end_token():
    assert decoding.strip_special(np.array([[5, 6, END, 0], [7, 0, 0, 0]]), END) == [[5, 6], [7]]


def _model(**kwargs):
    runtime.set_seed(0)
    return EncoderDecoder(12, 9, units=8, embedding_dim=4, **kwargs)


SRC = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]], "int32")
TGT_IN = np.array([[START, 4, 5, 0], [START, 6, 7, 8]], "int32")


@pytest.mark.parametrize("kwargs", [{}, {"attention": "additive"}, {"attention": "general"},
                                    {"attention": "dot", "cell": "lstm", "bidirectional": True}])
def test_logits_have_shape_batch_target_time_vocab(kwargs):
    assert tuple(_model(**kwargs)((SRC, TGT_IN)).shape) == (2, 4, 9)


@pytest.mark.parametrize("kwargs", [{"attention": "additive"}, {"cell": "lstm"}])
def test_extra_source_padding_changes_nothing(kwargs):
    model = _model(**kwargs)
    padded = np.pad(SRC, ((0, 0), (0, 3)))
    np.testing.assert_allclose(model((SRC, TGT_IN)), model((padded, TGT_IN)), atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"attention": "general"},
                                    {"attention": "additive", "cell": "lstm",
                                     "bidirectional": True}])
def test_step_by_step_decoding_equals_the_teacher_forced_pass(kwargs):
    model = _model(**kwargs)
    expected = keras.ops.convert_to_numpy(keras.ops.log_softmax(model((SRC, TGT_IN)), axis=-1))
    state = model.start_state(SRC)
    for t in range(TGT_IN.shape[1]):
        log_probs, state = model.step(TGT_IN[:, t], state)
        rows = TGT_IN[:, t] != 0
        np.testing.assert_allclose(log_probs[rows], expected[rows, t], atol=1e-5)


def test_attention_weights_are_zero_on_source_padding():
    weights = _model(attention="additive").attention_weights(SRC, TGT_IN)
    assert weights.shape == (2, 4, 5)
    assert np.all(weights[0, :, 3:] == 0) and np.allclose(weights.sum(-1), 1, atol=1e-6)


def test_no_attention_model_has_no_attention_weights():
    with pytest.raises(ValueError, match="no attention"):
        _model().attention_weights(SRC, TGT_IN)


def test_scheduled_sampling_off_changes_nothing_and_full_replaces_every_input_after_start():
    model = _model(attention="dot", scheduled_sampling=True)
    np.testing.assert_allclose(model((SRC, TGT_IN), training=True), model((SRC, TGT_IN)),
                               atol=1e-6)
    model.sampling_probability.assign(1.0)
    values, states, mask = model.encode(SRC)
    mixed = keras.ops.convert_to_numpy(model._mix_in_predictions(TGT_IN, values, mask, states))
    predicted = model((SRC, TGT_IN)).numpy().argmax(-1)
    np.testing.assert_array_equal(mixed[:, 0], START)
    np.testing.assert_array_equal(mixed[1, 1:], predicted[1, :-1])
    assert mixed[0, 3] == 0  # padding stays padding


def test_scheduled_sampling_callback_sets_the_probability_per_epoch():
    model = _model(scheduled_sampling=True)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  ignore_class=0))
    schedule = seq2seq.ScheduledSampling(seq2seq.ScheduledSampling.linear(0.5, 3))
    history = model.fit((SRC, TGT_IN), TGT_IN, epochs=3, verbose=0, callbacks=[schedule])
    assert history.history["sampling_probability"] == [0.0, 0.25, 0.5]
    with pytest.raises(ValueError, match="sampling probability in \\[0, 1\\], got 2"):
        model.fit((SRC, TGT_IN), TGT_IN, epochs=1, verbose=0,
                  callbacks=[seq2seq.ScheduledSampling(lambda epoch: 2)])


def test_encoder_decoder_survives_a_save_and_load(tmp_path):
    model = _model(attention="additive", bidirectional=True)
    before = model((SRC, TGT_IN))
    model.save(tmp_path / "seq2seq.keras")
    loaded = keras.saving.load_model(tmp_path / "seq2seq.keras")
    np.testing.assert_allclose(loaded((SRC, TGT_IN)), before, atol=1e-6)


def test_odd_units_cannot_be_split_between_directions():
    with pytest.raises(ValueError, match="odd 7"):
        EncoderDecoder(5, 5, units=7, bidirectional=True)


def test_exact_match_and_token_accuracy():
    predictions, references = [[1, 2, 3], [1, 2], [4]], [[1, 2, 3], [1, 2, 5], [5]]
    assert metrics.exact_match(predictions, references) == pytest.approx(1 / 3)
    assert metrics.token_accuracy(predictions, references) == pytest.approx(5 / 7)
    with pytest.raises(ValueError, match="as many predictions as references, got 3 and 2"):
        metrics.exact_match(predictions, references[:2])


def test_corpus_bleu_is_100_for_identical_text_and_ignores_case_and_tokenisation():
    references = ["Je l'ai vu hier soir.", "Va !"]
    perfect = metrics.corpus_bleu(["je l'ai vu hier soir .", "va !"], references)
    assert perfect == pytest.approx(100.0)
    assert 0 < metrics.corpus_bleu(["je l'ai vu ce soir .", "va !"], references) < 100


def test_translation_scores_report_chrf_and_signatures_that_say_lowercased():
    references = ["He is tired.", "I am here."]
    scores = metrics.translation_scores(["he is tired .", "i am there ."], references)
    assert scores.bleu == pytest.approx(metrics.corpus_bleu(["he is tired .", "i am there ."],
                                                            references))
    assert 0 < scores.bleu < 100 and 0 < scores.chrf < 100
    assert "case:lc" in scores.bleu_signature and "tok:13a" in scores.bleu_signature
    assert "case:lc" in scores.chrf_signature and "nc:6" in scores.chrf_signature
    perfect = metrics.translation_scores(["he is tired .", "i am here ."], references)
    assert perfect.bleu == pytest.approx(100.0) and perfect.chrf == pytest.approx(100.0)
