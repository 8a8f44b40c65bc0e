"""Evaluation numbers: perplexity and its unigram baseline; exact match, token accuracy and
BLEU for sequence-to-sequence outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "perplexity", "unigram_perplexity", "exact_match", "token_accuracy", "corpus_bleu",
    "TranslationScores", "translation_scores",
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
    _check_same_length(hypotheses, references)
    return float(_bleu_metric().corpus_score(list(hypotheses), [list(references)]).score)


def _bleu_metric():
    import sacrebleu

    return sacrebleu.BLEU(lowercase=True, force=True)


@dataclass(frozen=True)
class TranslationScores:
    """Corpus BLEU and chrF (both 0–100) and sacrebleu's signatures, which say exactly how they
    were computed (``case:lc`` = lower-cased, ``tok:13a``, ``nrefs:1``, the sacrebleu version)."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]
                       ) -> TranslationScores:
    """BLEU as :func:`corpus_bleu` and chrF (character 6-grams, beta 2; lower-cased like the
    BLEU) of ``hypotheses`` against one reference each."""
    import sacrebleu

    _check_same_length(hypotheses, references)
    bleu = _bleu_metric()
    chrf = sacrebleu.CHRF(lowercase=True)
    refs = [list(references)]
    bleu_score = bleu.corpus_score(list(hypotheses), refs).score
    chrf_score = chrf.corpus_score(list(hypotheses), refs).score
    return TranslationScores(float(bleu_score), float(chrf_score), str(bleu.get_signature()),
                             str(chrf.get_signature()))


def _check_same_length(predictions: Sequence, references: Sequence) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"expected as many predictions as references, got {len(predictions)} "
                         f"and {len(references)}")
