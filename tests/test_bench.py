"""course_lib.bench: the benchmark shapes build, and throughput and ratios are computed."""

import pytest

from course_lib import bench


@pytest.mark.parametrize("shape", sorted(bench.SHAPES))
def test_every_shape_builds_with_matching_data(shape):
    model, x, y = bench.build(shape)
    assert len(x) == len(y) == 16 * bench.BATCH
    assert model(x[:2]).shape[:1] == (2,)


def test_throughput_is_measured_and_ratios_are_against_plain_keras(capsys):
    results = bench.run(shapes=("simple_rnn",), settings=("plain Keras", "spe 16"), epochs=1)
    assert [m.setting for m in results] == ["plain Keras", "spe 16"]
    assert results[0].ratio_to_plain == 1.0 and results[1].samples_per_second > 0
    assert "samples/s" in capsys.readouterr().out
    fake = [bench.Measurement("a", "plain Keras", 1, 1.0), bench.Measurement("a", "x", 2, 2.0),
            bench.Measurement("b", "plain Keras", 1, 1.0), bench.Measurement("b", "x", 8, 8.0)]
    assert bench.geometric_mean_of_best(fake) == pytest.approx(4.0)
