import datetime

import numpy as np
import pytest

from course_lib import checks, data, layers, synthetic, text


def test_date_pairs_are_deterministic_and_each_text_names_its_iso_date():
    pairs = synthetic.date_pairs(300, seed=5)
    assert pairs == synthetic.date_pairs(300, seed=5)
    assert {name for _, _, name in pairs} == set(synthetic.DATE_FORMATS)
    for written, iso, name in pairs:
        assert synthetic.DATE_FORMATS[name](datetime.date.fromisoformat(iso)) == written


def test_date_formats_match_their_names_on_the_example_date():
    for name, write in synthetic.DATE_FORMATS.items():
        assert write(datetime.date(2021, 3, 7)) == name


def test_excluded_dates_are_never_drawn_and_unknown_formats_raise():
    train = synthetic.date_pairs(500, seed=1)
    held_out = synthetic.date_pairs(500, seed=2, exclude={iso for _, iso, _ in train})
    assert not {iso for _, iso, _ in train} & {iso for _, iso, _ in held_out}
    with pytest.raises(ValueError, match="unknown date formats \\['13/03'\\]"):
        synthetic.date_pairs(1, formats=("13/03",))


def test_reversal_pairs_reverse_strings_within_the_length_range():
    pairs = synthetic.reversal_pairs(200, 3, 6, seed=0)
    assert all(b == a[::-1] and 3 <= len(a) <= 6 for a, b in pairs)
    assert {len(a) for a, _ in pairs} == {3, 4, 5, 6}


def test_tokenize_keeps_apostrophes_and_hyphens_inside_words():
    assert text.tokenize("J'ai faim, est-ce grave ?") == ["j'ai", "faim", ",", "est-ce",
                                                          "grave", "?"]


def test_teacher_forcing_arrays_shift_the_target_behind_the_start_token():
    source, target_in, target_out = text.teacher_forcing_arrays([[5, 6, 7], [8]], [[9], [4, 5]],
                                                                start_id=2, end_id=3)
    np.testing.assert_array_equal(source, [[5, 6, 7], [8, 0, 0]])
    np.testing.assert_array_equal(target_in, [[2, 9, 0], [2, 4, 5]])
    np.testing.assert_array_equal(target_out, [[9, 3, 0], [4, 5, 3]])


def test_teacher_forcing_dataset_keeps_every_example_in_length_buckets():
    pairs = synthetic.reversal_pairs(300, 1, 30, seed=3)
    vocab = text.char_vocabulary("abcdefghij", specials=(text.START, text.END))
    sources = vocab.encode_many([a for a, _ in pairs])
    dataset = text.teacher_forcing_dataset(sources, vocab.encode_many([b for _, b in pairs]),
                                           2, 3, batch_size=16, bucket_width=8)
    batches = list(dataset)
    assert int(dataset.cardinality()) == len(batches)
    assert sum(len(target_out) for _, target_out in batches) == 300
    widths = [source.shape[1] for (source, _), _ in batches]
    assert max(widths) == 30 and min(widths) < 10  # short sentences are not padded to 30


def test_parse_sentence_pairs_reads_tabs_and_names_a_broken_line():
    text_ = "Go.\tVa !\tCC-BY 2.0\nHi.\tSalut !\n\n"
    assert data.parse_sentence_pairs(text_) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    with pytest.raises(data.DatasetError, match="fra.txt, line 2: expected 'english<TAB>"):
        data.parse_sentence_pairs("Go.\tVa !\nbroken line\n", "fra.txt")


def test_sentence_pairs_split_by_english_sentence_and_filter_length(mirror):
    splits = data.load_sentence_pairs("fra_eng", max_tokens=5)
    sides = [{en for en, _ in split} for split in (splits.train, splits.val, splits.test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert all(len(text.tokenize(fr)) <= 5 for _, fr in splits.train)
    assert len(splits.test) > 1000 and splits.test == data.load_sentence_pairs(
        "fra_eng", max_tokens=5).test


def test_unknown_pair_dataset_raises():
    with pytest.raises(ValueError, match="unknown pair dataset 'deu_eng'"):
        data.load_sentence_pairs("deu_eng")


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


def test_date_task_holds_out_test_dates_and_encodes_both_sets():
    from course_lib import synthetic, text

    task = synthetic.date_task(300, n_test=50, batch_size=32)
    assert not {iso for _, iso, _ in task.train} & set(task.test_iso)
    assert task.test_source.shape[0] == 50
    assert sum(int(target.shape[0]) for _, target in task.dataset) == 300
    assert task.target_vocab.decode(task.target_vocab.encode(task.test_iso[0])) == task.test_iso[0]
    assert (task.start_id, task.end_id) == (task.target_vocab.id_of(text.START),
                                            task.target_vocab.id_of(text.END))


def test_to_texts_cuts_at_the_end_token_and_decodes():
    from course_lib import decoding, text

    vocab = text.char_vocabulary("ab", specials=(text.START, text.END))
    a, b, end = vocab.id_of("a"), vocab.id_of("b"), vocab.id_of(text.END)
    assert decoding.to_texts(np.array([[a, b, end, a], [b, 0, 0, 0]]), vocab, end) == ["ab", "b"]
