import numpy as np
import pytest

from course_lib import synthetic, text


def test_char_vocabulary_round_trip_and_reserved_ids():
    vocab = text.char_vocabulary("hello world", specials=(text.START, text.END))
    assert vocab.tokens[:4] == (text.PAD, text.UNK, text.START, text.END)
    ids = vocab.encode("hello")
    assert ids.dtype == np.int32 and ids.min() >= 4
    assert vocab.decode(ids) == "hello"


def test_unknown_character_maps_to_unk():
    vocab = text.char_vocabulary("abc")
    assert vocab.encode("abz").tolist() == [vocab.id_of("a"), vocab.id_of("b"), vocab.unk_id]


def test_decode_drops_padding():
    vocab = text.char_vocabulary("ab")
    assert vocab.decode([vocab.id_of("a"), 0, 0]) == "a"


def test_word_vocabulary_standardises_like_encode():
    vocab = text.word_vocabulary(["The cat sat.", "the dog sat on the mat"], max_tokens=6)
    assert len(vocab) == 6 and vocab.tokens[2] == "the"
    ids = vocab.encode("The SAT, the bird!")
    assert vocab.decode(ids) == "the sat the [UNK]"


def test_next_token_dataset_targets_are_inputs_shifted_by_one():
    ids = np.arange(1, 23, dtype=np.int32)
    batches = list(text.next_token_dataset(ids, length=5, batch_size=3, shuffle=False))
    inputs = np.concatenate([b[0].numpy() for b in batches])
    targets = np.concatenate([b[1].numpy() for b in batches])
    assert inputs.shape == (4, 5)
    assert np.array_equal(targets, inputs + 1)


def test_next_token_dataset_rejects_too_short_text():
    with pytest.raises(ValueError, match="more than 10 tokens"):
        text.next_token_dataset(np.arange(5), length=10, batch_size=2)


def test_stateful_dataset_rows_continue_across_batches():
    ids = np.arange(1, 2 * 3 * 4 + 2, dtype=np.int32)  # 2 streams x 3 windows x 4 tokens, + 1
    batches = [(x.numpy(), y.numpy()) for x, y in text.stateful_next_token_dataset(ids, 4, 2)]
    assert len(batches) == 3 and batches[0][0].shape == (2, 4)
    stream0 = np.concatenate([b[0][0] for b in batches])
    stream1 = np.concatenate([b[0][1] for b in batches])
    assert np.array_equal(stream0, np.arange(1, 13)) and np.array_equal(stream1, np.arange(13, 25))
    assert all(np.array_equal(y, x + 1) for x, y in batches)


def test_stateful_dataset_rejects_too_short_text():
    with pytest.raises(ValueError, match="more than 40 tokens"):
        text.stateful_next_token_dataset(np.arange(30), length=10, batch_size=4)


def test_pad_batch_right_pads_with_zeros():
    batch = text.pad_batch([np.array([5, 6, 7]), np.array([8])])
    assert batch.tolist() == [[5, 6, 7], [8, 0, 0]]


def test_padded_dataset_pads_per_batch_and_keeps_tags_aligned():
    sequences = [np.arange(1, n + 1) for n in (2, 5, 3, 4)]
    tags = [s * 10 for s in sequences]
    batches = list(text.padded_dataset(sequences, tags, batch_size=2))
    ids, targets = (t.numpy() for t in batches[0])
    assert ids.tolist() == [[1, 2, 0, 0, 0], [1, 2, 3, 4, 5]]
    assert np.array_equal(targets, ids * 10)


def test_bucketing_reduces_padding():
    rng = np.random.default_rng(0)
    sequences = [np.ones(n, dtype=np.int32) for n in rng.integers(1, 60, size=400)]
    labels = [0] * len(sequences)
    plain = text.padded_dataset(sequences, labels, batch_size=32, shuffle=True)
    bucketed = text.padded_dataset(sequences, labels, batch_size=32, shuffle=True,
                                   bucket_boundaries=[10, 20, 30, 40, 50])
    assert text.dataset_padding_share(bucketed) < 0.5 * text.dataset_padding_share(plain)
    assert sum(int(ids.shape[0]) for ids, _ in bucketed) == 400


def test_token_vocabulary_keeps_punctuation_and_orders_by_frequency():
    vocab = text.token_vocabulary([["The", "cat", "."], ["the", "dog", "."]], min_count=2)
    assert vocab.tokens == (text.PAD, text.UNK, ".", "the")
    assert text.encode_tokens(vocab, ["THE", "bird", "."]).tolist() == [3, 1, 2]


def test_padding_share_by_hand():
    # one bucket: batches [2, 4] and [6] -> padding 2 + 0 of 8 + 6 positions
    assert text.padding_share([2, 4, 6], [], batch_size=2) == pytest.approx(2 / 14)
    assert text.padding_share([2, 4, 6], [3, 5], batch_size=2) == 0.0


@pytest.mark.parametrize("level", ["char", "word"])
def test_encode_many_equals_encode_one_by_one(level):
    texts = ["The cat sat.", "a dog", "Über-cat!"]
    vocab = (text.char_vocabulary("".join(texts[:2])) if level == "char"
             else text.word_vocabulary(texts[:2]))
    batch = vocab.encode_many(texts)
    assert [ids.tolist() for ids in batch] == [vocab.encode(t).tolist() for t in texts]


@pytest.mark.parametrize("boundaries", [None, [3, 5], [2, 4, 6, 8]])
def test_padded_dataset_declares_its_number_of_batches(boundaries):
    rng = np.random.default_rng(1)
    sequences = [rng.integers(1, 9, size=n) for n in rng.integers(1, 10, size=37)]
    dataset = text.padded_dataset(sequences, [0] * 37, batch_size=4, shuffle=True,
                                  bucket_boundaries=boundaries)
    counted = sum(1 for _ in dataset)  # assert_cardinality raises if the declared count is off
    assert int(dataset.cardinality()) == counted


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


def test_encode_token_chars_keeps_case_pads_and_keeps_prefix_and_suffix():
    vocabulary = text.char_vocabulary("abcdefghijklmnopqrstuvwxyzABC")
    chars = text.encode_token_chars(vocabulary, ["Ab", "abcdefghijklmnopqrstuvwxyz"], 8)
    assert chars.shape == (2, 8) and chars.dtype == np.int32
    assert vocabulary.decode(chars[0]) == "Ab" and np.all(chars[0, 2:] == 0)
    assert vocabulary.decode(chars[1]) == "abcdwxyz"
    unseen = text.encode_token_chars(vocabulary, ["a?"], 4)  # "?" is not in the vocabulary
    assert unseen.tolist() == [[vocabulary.id_of("a"), vocabulary.unk_id, 0, 0]]
    np.testing.assert_array_equal(chars[0, :2], vocabulary.encode("Ab"))  # same ids as encode


def test_tagging_dataset_pads_words_chars_and_tags_per_batch():
    words = [np.array([2, 3], "int32"), np.array([4, 5, 6], "int32"), np.array([7], "int32")]
    chars = [np.ones((len(w), 4), "int32") for w in words]
    tags = [np.full(len(w), 1, "int32") for w in words]
    batches = list(text.tagging_dataset(words, chars, tags, batch_size=2))
    assert len(batches) == 2
    inputs, targets = batches[0]
    assert inputs["words"].shape == (2, 3) and inputs["chars"].shape == (2, 3, 4)
    assert targets.numpy().tolist() == [[1, 1, 0], [1, 1, 1]]
    with pytest.raises(ValueError, match="one chars and one tags array per sentence"):
        text.tagging_dataset(words, chars[:2], tags, 2)
