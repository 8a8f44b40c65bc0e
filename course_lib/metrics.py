"""Evaluation numbers: perplexity and its unigram baseline; exact match, token accuracy and
BLEU for sequence-to-sequence outputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "perplexity", "unigram_perplexity", "exact_match", "token_accuracy", "corpus_bleu",
]


def perplexity(mean_cross_entropy: float) -> float:
    """exp of the mean per-token cross-entropy in nats (what Keras reports as the loss)."""
    return float(np.exp(mean_cross_entropy))


def unigram_perplexity(train_ids: np.ndarray, eval_ids: np.ndarray, vocab_size: int) -> float:
    """Perplexity on ``eval_ids`` of the model that ignores context and predicts every token with
    its training frequency (add-one smoothed so an unseen token has non-zero probability).

    Args:
        train_ids: (tokens,) int ids the frequencies are counted on.
        eval_ids: (tokens,) int ids to score.
        vocab_size: number of ids (the length of the probability table).
    """
    counts = np.bincount(np.asarray(train_ids).ravel(), minlength=vocab_size) + 1.0
    log_probs = np.log(counts / counts.sum())
    return perplexity(-log_probs[np.asarray(eval_ids).ravel()].mean())


def exact_match(predictions: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Share of predictions equal to their reference as a whole (token lists or strings)."""
    _check_same_length(predictions, references)
    return float(np.mean([list(p) == list(r) for p, r in zip(predictions, references,
                                                                   strict=True)]))


def token_accuracy(predictions: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Share of reference positions where the prediction has the same token at the same
    position (a prediction that is too short misses the rest; extra tokens are not counted)."""
    _check_same_length(predictions, references)
    hits = sum(sum(int(i < len(p) and p[i] == token) for i, token in enumerate(r))
               for p, r in zip(predictions, references, strict=True))
    return hits / max(1, sum(len(r) for r in references))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0–100) with sacrebleu's standard settings (13a tokenisation, one reference
    per sentence), lower-casing both sides because the course's vocabularies are lower-cased.

    Hypotheses may be :func:`course_lib.text.tokenize` output joined by spaces: 13a splits that
    back into the same tokens as the reference sentence, so the score is the sentences' score
    (``force=True`` silences sacrebleu's warning about tokenised input)."""
    import sacrebleu

    _check_same_length(hypotheses, references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)],
                                       lowercase=True, force=True).score)


def _check_same_length(predictions: Sequence, references: Sequence) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"expected as many predictions as references, got {len(predictions)} "
                         f"and {len(references)}")
