import datetime

import numpy as np
import pytest

from course_lib import synthetic, text


def test_adding_problem_target_is_sum_of_marked_values():
    x, y = synthetic.adding_problem(64, 30, seed=3)
    assert x.shape == (64, 30, 2) and y.shape == (64,)
    assert np.all(x[..., 1].sum(axis=1) == 2)
    np.testing.assert_allclose((x[..., 0] * x[..., 1]).sum(axis=1), y, rtol=1e-6)


def test_adding_problem_puts_one_marker_in_each_half():
    x, _ = synthetic.adding_problem(200, 20, seed=0)
    assert np.all(x[:, :10, 1].sum(axis=1) == 1) and np.all(x[:, 10:, 1].sum(axis=1) == 1)


def test_adding_problem_is_deterministic_given_seed():
    a, b = synthetic.adding_problem(8, 10, seed=7), synthetic.adding_problem(8, 10, seed=7)
    c = synthetic.adding_problem(8, 10, seed=8)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_adding_problem_constant_baseline_mse_is_one_sixth():
    _, y = synthetic.adding_problem(100_000, 10, seed=0)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.005


def test_copy_task_layout():
    x, y = synthetic.copy_task(4, delay=6, n_copy=3, n_symbols=5, seed=1)
    assert x.shape == y.shape == (4, 12)
    assert np.array_equal(y[:, -3:], x[:, :3])
    assert np.all(x[:, 3 + 6 - 1] == 6) and np.all(y[:, :9] == 0)
    assert x[:, :3].min() >= 1 and x[:, :3].max() <= 5


def test_copy_task_is_deterministic_and_validates_arguments():
    first, again = synthetic.copy_task(3, 4, seed=2), synthetic.copy_task(3, 4, seed=2)
    assert np.array_equal(first[0], again[0])
    with pytest.raises(ValueError, match="delay"):
        synthetic.copy_task(3, 0)


def test_delayed_echo_targets_are_inputs_shifted_by_delay():
    x, y = synthetic.delayed_echo(4, length=10, delay=3, seed=0)
    assert x.shape == y.shape == (4, 10, 1)
    assert np.array_equal(y[:, 3:], x[:, :-3]) and not y[:, :3].any()
    assert set(np.unique(x)) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="delay < length"):
        synthetic.delayed_echo(2, length=5, delay=5)


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


def test_date_task_holds_out_test_dates_and_encodes_both_sets():
    from course_lib import synthetic

    task = synthetic.date_task(300, n_test=50, batch_size=32)
    assert not {iso for _, iso, _ in task.train} & set(task.test_iso)
    assert task.test_source.shape[0] == 50
    assert sum(int(target.shape[0]) for _, target in task.dataset) == 300
    assert task.target_vocab.decode(task.target_vocab.encode(task.test_iso[0])) == task.test_iso[0]
    assert (task.start_id, task.end_id) == (task.target_vocab.id_of(text.START),
                                            task.target_vocab.id_of(text.END))
