"""Fixtures for the unit tests (suite-wide settings live in course_plugin.py)."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def mirror() -> Path:
    """The offline dataset mirror named by COURSE_DATA_DIR (skips when none is configured)."""
    folder = os.environ.get("COURSE_DATA_DIR")
    if not folder or not Path(folder).is_dir():
        pytest.skip("COURSE_DATA_DIR is not set to a dataset mirror")
    return Path(folder)


@pytest.fixture
def learns_to_copy(tmp_path):
    """``check(model, source, target_in)``: train an encoder–decoder with the decoding protocol
    to copy 4-token sequences, assert > 90 % of greedy tokens right, and that the model saved
    and loaded gives the same logits on ``(source, target_in)``."""

    def check(model, source, target_in, start: int = 2, end: int = 3):
        import keras
        import numpy as np

        from course_lib import decoding

        rng = np.random.default_rng(1)
        copies = rng.integers(4, 9, size=(512, 4)).astype("int32")
        copies_in = np.concatenate([np.full((512, 1), start, "int32"), copies[:, :3]], axis=1)
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.
                      SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
        model.fit((copies, copies_in), copies, epochs=25, batch_size=64, verbose=0)
        copied = decoding.greedy_decode(model, copies[:64], start, end, max_length=4)
        assert (copied == copies[:64]).mean() > 0.9
        before = model((source, target_in))
        model.save(tmp_path / "model.keras")
        loaded = keras.saving.load_model(tmp_path / "model.keras")
        np.testing.assert_allclose(loaded((source, target_in)), before, atol=1e-5)

    return check


@pytest.fixture
def decodes_step_by_step():
    """``check(model, source, target_in, state_length)``: the decoding protocol
    (``start_state``/``step``) gives, token by token, the log-probabilities of the teacher-forced
    pass on every non-padded target position, and the state's third part (the cache or window)
    has ``state_length(t)`` positions after step ``t``."""

    def check(model, source, target_in, state_length):
        import keras
        import numpy as np

        expected = keras.ops.convert_to_numpy(
            keras.ops.log_softmax(model((source, target_in)), axis=-1))
        state = model.start_state(source)
        for t in range(target_in.shape[1]):
            log_probs, state = model.step(target_in[:, t], state)
            assert state[2].shape[1] == state_length(t)
            rows = target_in[:, t] != 0
            np.testing.assert_allclose(log_probs[rows], expected[rows, t], atol=1e-5)

    return check


@pytest.fixture(scope="session")
def course_wheel(tmp_path_factory) -> Path:
    """A wheel of course_lib built from this checkout (no build isolation: the dev extra
    provides setuptools, so no network is needed)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(out), str(root)],
                   check=True, capture_output=True, text=True)
    (wheel,) = out.glob("course_lib-*.whl")
    return wheel
