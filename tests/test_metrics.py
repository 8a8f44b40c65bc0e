"""course_lib.metrics: perplexity and friends."""

import math

import numpy as np
import pytest

from course_lib import metrics


def test_unigram_perplexity_of_uniform_text_is_vocab_size():
    ids = np.tile(np.arange(4), 1000)
    assert metrics.unigram_perplexity(ids, ids, vocab_size=4) == pytest.approx(4.0, rel=1e-6)


def test_perplexity_is_exp_of_cross_entropy():
    assert metrics.perplexity(math.log(7.0)) == pytest.approx(7.0)
