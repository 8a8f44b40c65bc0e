"""Vocabularies for characters and words, built on Keras' ``StringLookup``/``TextVectorization``.

Reserved ids are the same at both levels:

    0 = "" (padding, masked)   1 = "[UNK]" (out of vocabulary)   then optional "[START]", "[END]"

so ``keras.layers.Embedding(..., mask_zero=True)`` masks padding everywhere in the course.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import keras
import numpy as np
import tensorflow as tf

from course_lib.training import steady_input

__all__ = [
    "PAD", "UNK", "START", "END", "STANDARDIZE", "Vocabulary", "char_vocabulary",
    "word_vocabulary", "next_token_dataset", "stateful_next_token_dataset", "pad_batch",
    "padded_dataset", "padded_batch_count", "dataset_padding_share", "token_vocabulary",
    "encode_tokens", "encode_token_chars", "tagging_dataset", "padding_share", "TOKEN_PATTERN",
    "tokenize", "teacher_forcing_arrays", "teacher_forcing_dataset",
]

PAD, UNK, START, END = "", "[UNK]", "[START]", "[END]"
STANDARDIZE = "lower_and_strip_punctuation"


@dataclass(frozen=True)
class Vocabulary:
    """An id <-> token table. ``tokens[i]`` is the token of id ``i``; ids 0 and 1 are PAD, UNK."""

    tokens: tuple[str, ...]
    level: str  # "char", "word", or "token"/"token_lower" (pre-split, see encode_tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    def id_of(self, token: str) -> int:
        """The id of ``token`` (UNK's id when unknown)."""
        return self.index.get(token, self.unk_id)

    def encode(self, text: str) -> np.ndarray:
        """(tokens,) int32 ids of ``text``: characters, or words standardised as in
        :func:`word_vocabulary` (lower-cased, punctuation stripped, split on whitespace)."""
        return self.encode_many([text])[0]

    def encode_many(self, texts: Sequence[str]) -> list[np.ndarray]:
        """:meth:`encode` for many texts with one layer call (far faster than a loop)."""

        vocabulary = list(self.tokens[2:])
        if self.level == "char":
            layer = keras.layers.StringLookup(vocabulary=vocabulary, mask_token=PAD,
                                              oov_token=UNK)
            ragged = layer(tf.strings.unicode_split(list(texts), "UTF-8"))
        else:
            layer = keras.layers.TextVectorization(vocabulary=vocabulary, standardize=STANDARDIZE,
                                                   ragged=True)
            ragged = layer(list(texts))
        return [np.asarray(row, dtype=np.int32) for row in ragged.to_list()]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``, dropping padding; words are joined by single spaces."""
        pieces = [self.tokens[i] for i in np.asarray(ids).reshape(-1) if i != self.pad_id]
        return ("" if self.level == "char" else " ").join(pieces)

    @cached_property
    def index(self) -> dict[str, int]:
        """token -> id (built once)."""
        return {token: i for i, token in enumerate(self.tokens)}


def char_vocabulary(text: str, specials: Sequence[str] = ()) -> Vocabulary:
    """A character vocabulary of ``text``: PAD, UNK, ``specials``, then characters sorted."""
    return Vocabulary((PAD, UNK, *specials, *sorted(set(text) - {PAD})), "char")


def word_vocabulary(
    texts: Iterable[str], max_tokens: int | None = None, specials: Sequence[str] = ()
) -> Vocabulary:
    """A word vocabulary learnt by ``TextVectorization.adapt`` (lower-cased, punctuation
    stripped), most frequent first, capped at ``max_tokens`` ids in total."""

    vectorizer = keras.layers.TextVectorization(
        max_tokens=None if max_tokens is None else max_tokens - len(specials),
        standardize=STANDARDIZE, split="whitespace",
    )
    vectorizer.adapt(list(texts))
    learnt = vectorizer.get_vocabulary()  # ["", "[UNK]", most frequent, ...]
    return Vocabulary((PAD, UNK, *specials, *(str(token) for token in learnt[2:])), "word")


def next_token_dataset(ids: np.ndarray, length: int, batch_size: int, shuffle: bool = True,
                       seed: int = 0):
    """A ``tf.data.Dataset`` of (inputs, targets) windows for next-token prediction.

    ``ids`` is cut into non-overlapping chunks of ``length + 1`` tokens; inputs are a chunk's
    first ``length`` tokens and targets the same shifted by one. Shapes per batch:
    inputs (batch, length) int32, targets (batch, length) int32. The last partial batch is kept.
    """

    ids = np.asarray(ids, dtype=np.int32).ravel()
    n_chunks = (len(ids) - 1) // length
    if n_chunks < 1:
        raise ValueError(f"need more than {length} tokens for one window, got {len(ids)}")
    chunks = ids[: n_chunks * length + 1]
    inputs = chunks[:-1].reshape(n_chunks, length)
    targets = chunks[1:].reshape(n_chunks, length)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        dataset = dataset.shuffle(n_chunks, seed=seed, reshuffle_each_iteration=True)
    return steady_input(dataset.batch(batch_size))


def stateful_next_token_dataset(ids: np.ndarray, length: int, batch_size: int):
    """(inputs, targets) windows for *stateful* training (truncated BPTT over a long text).

    ``ids`` is cut into ``batch_size`` contiguous streams; batch j holds window j of every stream,
    so row i of batch j+1 continues row i of batch j and a stateful layer can carry its state
    across batches. No shuffling (it would break the continuation). Shapes per batch:
    inputs (batch_size, length) int32, targets (batch_size, length) int32; partial batches are
    dropped because a stateful layer needs a fixed batch size.
    """

    ids = np.asarray(ids, dtype=np.int32).ravel()
    windows_per_stream = (len(ids) - 1) // (batch_size * length)
    if windows_per_stream < 1:
        raise ValueError(
            f"need more than {batch_size * length} tokens for {batch_size} streams of one "
            f"{length}-token window, got {len(ids)}"
        )
    span = windows_per_stream * length
    streams = np.stack([ids[i * span: (i + 1) * span + 1] for i in range(batch_size)])
    inputs = streams[:, :-1].reshape(batch_size, windows_per_stream, length).transpose(1, 0, 2)
    targets = streams[:, 1:].reshape(batch_size, windows_per_stream, length).transpose(1, 0, 2)
    return steady_input(tf.data.Dataset.from_tensor_slices((inputs, targets)))


def pad_batch(sequences: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """Right-pad int sequences with 0 to ``length`` (default: the longest): (n, length) int32."""
    length = max(len(s) for s in sequences) if length is None else length
    batch = np.zeros((len(sequences), length), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence[:length]
    return batch


def padded_dataset(sequences: Sequence[np.ndarray], targets, batch_size: int,
                   bucket_boundaries: Sequence[int] | None = None, shuffle: bool = False,
                   seed: int = 0):
    """A ``tf.data.Dataset`` of right-padded (ids, targets) batches.

    Without ``bucket_boundaries`` each batch is padded to its longest sequence. With them,
    sequences are first grouped by length (``Dataset.bucket_by_sequence_length``) so that a
    batch holds sequences of similar length and carries less padding. ``targets`` are one label
    per sequence (classification) or one int sequence per sequence (tagging, padded with 0).

    Shapes per batch: ids (batch, time) int32; targets (batch,) or (batch, time).
    """

    per_token = np.ndim(targets[0]) == 1
    target_spec = tf.TensorSpec((None,) if per_token else (), tf.int32)

    def examples():
        for sequence, target in zip(sequences, targets, strict=True):
            yield np.asarray(sequence, np.int32), np.asarray(target, np.int32)

    dataset = tf.data.Dataset.from_generator(
        examples, output_signature=(tf.TensorSpec((None,), tf.int32), target_spec))
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(sequences), seed=seed, reshuffle_each_iteration=True)
    if bucket_boundaries:
        dataset = dataset.bucket_by_sequence_length(
            lambda ids, _: tf.shape(ids)[0], list(bucket_boundaries),
            [batch_size] * (len(bucket_boundaries) + 1))
    else:
        dataset = dataset.padded_batch(batch_size)
    # A generator's length is unknown to tf.data, so Keras would only find the end of an epoch
    # by running out of data (and warn). The number of batches is known: say it.
    batches = padded_batch_count([len(s) for s in sequences], bucket_boundaries or [],
                                 batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return steady_input(dataset)


def padded_batch_count(lengths: Sequence[int], boundaries: Sequence[int],
                       batch_size: int) -> int:
    """Batches that :func:`padded_dataset` makes of sequences with these lengths: per length
    bucket ``[0, b_0), [b_0, b_1), …, [b_last, ∞)``, ``ceil(count / batch_size)``."""
    buckets = np.searchsorted(np.asarray(boundaries), np.asarray(lengths), side="right")
    counts = np.bincount(buckets, minlength=len(boundaries) + 1)
    return int(sum(-(-count // batch_size) for count in counts))


def dataset_padding_share(dataset) -> float:
    """Share of positions in a padded dataset's id batches that are padding (id 0)."""
    padded = total = 0
    for ids, _ in dataset:
        ids = np.asarray(ids)
        padded += int((ids == 0).sum())
        total += ids.size
    return padded / total


def token_vocabulary(token_lists: Iterable[Sequence[str]], min_count: int = 1,
                     lowercase: bool = True) -> Vocabulary:
    """A vocabulary of pre-split tokens (e.g. treebank words, punctuation included), most
    frequent first, keeping tokens seen at least ``min_count`` times."""
    from collections import Counter

    counts = Counter(t.lower() if lowercase else t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return Vocabulary((PAD, UNK, *kept), "token" if not lowercase else "token_lower")


def encode_tokens(vocabulary: Vocabulary, tokens: Sequence[str]) -> np.ndarray:
    """(tokens,) int32 ids of pre-split tokens, looked up as they are (lower-cased if the
    vocabulary was built lower-cased); unknown tokens get UNK's id."""
    index = vocabulary.index
    lower = vocabulary.level == "token_lower"
    return np.array([index.get(t.lower() if lower else t, vocabulary.unk_id) for t in tokens],
                    dtype=np.int32)


def encode_token_chars(vocabulary: Vocabulary, tokens: Sequence[str], max_chars: int = 16
                       ) -> np.ndarray:
    """(tokens, max_chars) int32 character ids of each token, case kept, right-padded with 0;
    a token longer than ``max_chars`` keeps its first ``max_chars // 2`` and its last
    characters (prefix and suffix, where most of a word's part of speech shows)."""
    out = np.zeros((len(tokens), max_chars), dtype=np.int32)
    head, index, unknown = max_chars // 2, vocabulary.index, vocabulary.unk_id
    for row, token in enumerate(tokens):  # a dict look-up per character: no TF layer per word
        kept = token if len(token) <= max_chars else token[:head] + token[-(max_chars - head):]
        out[row, :len(kept)] = [index.get(character, unknown) for character in kept]
    return out


def tagging_dataset(words: Sequence[np.ndarray], chars: Sequence[np.ndarray],
                    tags: Sequence[np.ndarray], batch_size: int, shuffle: bool = False,
                    seed: int = 0):
    """A ``tf.data.Dataset`` of ({"words", "chars"}, tags) batches for a character-aware
    tagger, each batch padded to its longest sentence with 0.

    Per sentence: words (time,), chars (time, max_chars), tags (time,) int32. Shapes per batch:
    words (batch, time), chars (batch, time, max_chars), tags (batch, time).
    """
    if not len(words) == len(chars) == len(tags):
        raise ValueError(f"need one chars and one tags array per sentence: got {len(words)} "
                         f"sentences, {len(chars)} chars and {len(tags)} tags arrays")
    max_chars = int(np.shape(chars[0])[1])

    def examples():
        for w, c, t in zip(words, chars, tags, strict=True):
            yield {"words": w, "chars": c}, t

    signature = ({"words": tf.TensorSpec((None,), tf.int32),
                  "chars": tf.TensorSpec((None, max_chars), tf.int32)},
                 tf.TensorSpec((None,), tf.int32))
    dataset = tf.data.Dataset.from_generator(examples, output_signature=signature).cache()
    if shuffle:
        dataset = dataset.shuffle(len(words), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.padded_batch(batch_size)
    batches = -(-len(words) // batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return steady_input(dataset)


def padding_share(lengths: Sequence[int], boundaries: Sequence[int], batch_size: int) -> float:
    """Share of padded positions if sequences of ``lengths`` are put in length buckets
    [0, b1), [b1, b2), …, [b_last, ∞), batched in order within a bucket, and each batch padded
    to its longest member. (The arithmetic behind ``bucket_by_sequence_length``.)"""
    edges = [0, *boundaries, float("inf")]
    padded = total = 0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        bucket = [n for n in lengths if low <= n < high]
        for start in range(0, len(bucket), batch_size):
            batch = bucket[start: start + batch_size]
            padded += max(batch) * len(batch) - sum(batch)
            total += max(batch) * len(batch)
    return padded / total if total else 0.0


# --------------------------------------------------------------------------------------------
# sentences as token lists, and teacher-forcing arrays for sequence-to-sequence models
# --------------------------------------------------------------------------------------------

TOKEN_PATTERN = r"[\w'’-]+|[^\w\s]"


def tokenize(sentence: str) -> list[str]:
    """Lower-cased words (apostrophes and hyphens kept inside: "j'ai", "est-ce") and single
    punctuation marks: ``tokenize("J'ai faim !") == ["j'ai", "faim", "!"]``.

    Joining the tokens with spaces gives text that sacrebleu's 13a tokeniser splits back into
    the same tokens, so BLEU on ``" ".join(tokens)`` is BLEU on the sentence.
    """
    import re

    return re.findall(TOKEN_PATTERN, sentence.lower())


def teacher_forcing_arrays(sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                           start_id: int, end_id: int, source_length: int | None = None,
                           target_length: int | None = None):
    """Right-padded arrays for training an encoder–decoder with teacher forcing.

    ``target_in`` is ``[start] + target`` and ``target_out`` is ``target + [end]``: at step t
    the decoder reads the true token t-1 and must predict token t.

    Returns:
        source (n, source_length), target_in (n, target_length + 1),
        target_out (n, target_length + 1), all int32 and padded with 0.
    """
    if len(sources) != len(targets):
        raise ValueError(f"expected as many sources as targets, got {len(sources)} and "
                         f"{len(targets)}")
    target_length = max(len(t) for t in targets) if target_length is None else target_length
    target_in = pad_batch([[start_id, *t] for t in targets], target_length + 1)
    target_out = pad_batch([[*t, end_id] for t in targets], target_length + 1)
    return pad_batch([list(s) for s in sources], source_length), target_in, target_out


def teacher_forcing_dataset(sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                            start_id: int, end_id: int, batch_size: int, shuffle: bool = True,
                            seed: int = 0, bucket_width: int = 8):
    """:func:`teacher_forcing_arrays` as a ``tf.data.Dataset`` of
    ``((source, target_in), target_out)`` batches, grouped by source length into buckets
    ``bucket_width`` tokens wide, so a batch of short sentences is not padded to the longest
    sentence of the corpus (the recurrent layers run over every padded step). Sources are padded
    to their bucket's width and targets to the longest target + 1, so training sees one input
    shape per bucket. Shapes per batch: (batch, source_time), (batch, target_time) ×2, int32.
    """

    source, target_in, target_out = teacher_forcing_arrays(sources, targets, start_id, end_id)
    lengths = np.array([len(s) for s in sources], np.int32)
    longest = int(lengths.max())
    # buckets [1, w+1), [w+1, 2w+1), …, the last one ending just after the longest source
    boundaries = [*range(bucket_width + 1, longest + 1, bucket_width), longest + 1]
    dataset = tf.data.Dataset.from_tensor_slices(
        ((source, lengths, target_in), target_out)).cache()
    if shuffle:
        dataset = dataset.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda inputs, out: ((inputs[0][: inputs[1]], inputs[2]), out))
    dataset = dataset.bucket_by_sequence_length(
        lambda inputs, _: tf.shape(inputs[0])[0], boundaries,
        [batch_size] * (len(boundaries) + 1),
        padded_shapes=(([None], [target_in.shape[1]]), [target_in.shape[1]]),
        pad_to_bucket_boundary=True)
    # every bucket ends with one partial batch, so the number of batches is known; telling
    # tf.data lets Keras show progress and not warn that the input "ran out of data"
    per_bucket = np.bincount(np.searchsorted(boundaries, lengths, "right"))
    n_batches = int(sum(-(-count // batch_size) for count in per_bucket))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))
    return steady_input(dataset)
