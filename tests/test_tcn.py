"""The temporal convolutional network (course_lib.tcn)."""

import keras
import numpy as np
import pytest

from course_lib import decoding, runtime
from course_lib.tcn import CausalConvBlock, TCNSeq2Seq, receptive_field

START, END = 2, 3
SRC = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]], "int32")
TGT_IN = np.array([[START, 4, 5, 0], [START, 6, 7, 8]], "int32")


def _model(**kwargs):
    runtime.set_seed(0)
    return TCNSeq2Seq(12, 9, **{"channels": 8, "kernel_size": 2, "dilations": (1, 2),
                                **kwargs})


def test_receptive_field_formula():
    assert receptive_field(3, (1, 2, 4, 8)) == 61  # 1 + 2 convs x 2 x 15
    assert receptive_field(2, (1, 2)) == 7
    assert _model().receptive_field == 7


def test_block_is_causal_and_sees_exactly_its_receptive_field():
    runtime.set_seed(0)
    block = CausalConvBlock(4, kernel_size=3, dilation=2)
    x = np.random.default_rng(0).normal(size=(1, 30, 4)).astype("float32")
    base = keras.ops.convert_to_numpy(block(x))
    changed = x.copy()
    changed[0, 12] += 1.0
    moved = np.abs(keras.ops.convert_to_numpy(block(changed)) - base).max(axis=-1)[0]
    # two convolutions of kernel 3, dilation 2: position 12 reaches positions 12 .. 20 (some
    # of them stay put where a ReLU is off)
    assert np.all(moved[:12] == 0) and moved[12] > 0 and moved[13:21].any()
    assert np.all(moved[21:] == 0)
    assert receptive_field(3, (2,)) == 9


def test_source_padding_moves_to_the_front_and_extra_padding_changes_nothing():
    moved = keras.ops.convert_to_numpy(TCNSeq2Seq._padding_first(SRC))
    np.testing.assert_array_equal(moved, [[0, 0, 3, 4, 5], [6, 7, 8, 9, 10]])
    model = _model()
    padded = np.pad(SRC, ((0, 0), (0, 30)))  # far more padding than the receptive field
    np.testing.assert_allclose(model((padded, TGT_IN)), model((SRC, TGT_IN)), atol=1e-6)


def test_logits_shape_and_outputs_are_causal_in_the_target():
    model = _model()
    logits = keras.ops.convert_to_numpy(model((SRC, TGT_IN)))
    assert logits.shape == (2, 4, 9)
    future = TGT_IN.copy()
    future[1, 3] = 7
    moved = keras.ops.convert_to_numpy(model((SRC, future)))
    np.testing.assert_allclose(moved[:, :3], logits[:, :3], atol=1e-6)
    assert not np.allclose(moved[1, 3], logits[1, 3])


def test_tokens_beyond_the_receptive_field_change_nothing():
    model = _model()  # receptive field 7: the first target output sees the last 7 positions
    source = np.arange(3, 11, dtype="int32")[None]  # 8 source tokens
    target_in = np.array([[START]], "int32")
    base = keras.ops.convert_to_numpy(model((source, target_in)))
    far, near = source.copy(), source.copy()
    far[0, 1] = 11   # 8 positions before the output: outside
    near[0, 2] = 11  # 7 positions before: inside
    np.testing.assert_allclose(model((far, target_in)), base, atol=1e-6)
    assert not np.allclose(keras.ops.convert_to_numpy(model((near, target_in))), base)


@pytest.mark.parametrize("dilations", [(1, 2, 4), (1,)])  # receptive fields 15 and 3
def test_step_by_step_decoding_with_conv_queues_equals_the_teacher_forced_pass(
        dilations, decodes_step_by_step):
    model = _model(dilations=dilations)
    state = model.start_state(SRC)
    # one queue per convolution, (kernel_size - 1) * dilation inputs long (kernel_size 2)
    assert [q.shape for q in state[2:]] == [(2, d, 8) for d in dilations for _ in range(2)]
    decodes_step_by_step(model, SRC, TGT_IN, state_length=lambda t: 1)  # the state never grows


def test_greedy_and_beam_search_decode_the_tcn():
    model = _model()
    greedy = decoding.greedy_decode(model, SRC, START, END, max_length=6)
    ids, _ = decoding.beam_search(model, SRC, START, END, max_length=6, beam_width=1)
    np.testing.assert_array_equal(ids[:, 0], greedy)


def test_tcn_learns_to_copy_and_survives_a_save_and_load(learns_to_copy):
    model = _model(channels=32, kernel_size=3, dilations=(1, 2))  # receptive field 13 >= 4 + 4
    learns_to_copy(model, SRC, TGT_IN)


@pytest.mark.parametrize("kernel_size, dilations", [(3, (1, 2, 4, 8)), (2, (1,))])
def test_block_round_trips_through_its_config(kernel_size, dilations):
    block = CausalConvBlock(4, kernel_size, dilations[-1], dropout=0.1)
    clone = CausalConvBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
