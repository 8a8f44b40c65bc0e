"""Colab: every badge and setup cell comes from one setting, and the setup cell installs the
course into a fresh environment (or says clearly why it cannot)."""

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab  # noqa: E402

NOTEBOOK_01 = ROOT / "notebooks" / "01_vanilla_rnn.ipynb"


def test_every_badge_and_setup_cell_agrees_with_the_setting():
    config = colab.settings()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert colab.disagreements(path, **config) == [], f"{path.name}: run `make colab`"


def test_a_changed_setting_is_detected_and_rewritten(tmp_path):
    copy = tmp_path / NOTEBOOK_01.name
    copy.write_text(NOTEBOOK_01.read_text())
    fork = {"repository": "https://github.com/someone/fork", "ref": "term-2027"}
    assert colab.disagreements(copy, **fork) == ["Colab badge", "setup cell"]
    assert colab.sync_notebook(copy, **fork) is True
    assert colab.disagreements(copy, **fork) == []
    assert colab.sync_notebook(copy, **fork) is False  # idempotent
    text = copy.read_text()
    assert "github/someone/fork/blob/term-2027/notebooks/01_vanilla_rnn.ipynb" in text
    assert "recurrent-course" not in text


def first_code_cells(count: int) -> str:
    """The source of notebook 01's first ``count`` code cells, as one script."""
    cells = [c for c in json.loads(NOTEBOOK_01.read_text())["cells"] if c["cell_type"] == "code"]
    return "\n\n".join("".join(c["source"]) for c in cells[:count])


@pytest.fixture(scope="module")
def fresh_colab(tmp_path_factory):
    """A new virtual environment without course_lib that sees this environment's TensorFlow,
    Keras and the rest (as Colab's image has them) through a folder of links, and a stub
    ``google.colab`` module imported at start-up, as in a Colab kernel."""
    base = tmp_path_factory.mktemp("colab")
    image = base / "image"  # what "Colab" has preinstalled: everything here except the course
    image.mkdir()
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        if not entry.name.lower().startswith(("course_lib", "__editable__", "_course_lib")):
            (image / entry.name).symlink_to(entry)
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    Path(site.strip(), "colab_image.pth").write_text(f"{image}\n")
    stub = base / "stub"
    (stub / "google" / "colab").mkdir(parents=True)
    # no google/__init__.py: ``google`` stays a namespace package, shared with protobuf
    (stub / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab."""\n')
    (stub / "sitecustomize.py").write_text("import google.colab  # noqa: F401\n")
    return python, stub


def run_in_colab(fresh_colab, workdir: Path, script: str, **env_overrides):
    python, stub = fresh_colab
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PYTHONPATH": str(stub), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3", **env_overrides}
    return subprocess.run([python, "-c", script], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)


def test_setup_cell_installs_an_uploaded_wheel_and_notebook_01_starts(
        fresh_colab, course_wheel, tmp_path):
    (tmp_path / course_wheel.name).write_bytes(course_wheel.read_bytes())  # "uploaded"
    script = first_code_cells(3)
    first = run_in_colab(fresh_colab, tmp_path, script)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "colab=yes" in first.stdout and "profile=fast" in first.stdout
    assert "max |NumPy - Keras|" in first.stdout
    # Re-running the cell, with no wheel and no reachable repository: the package imports,
    # so nothing is installed again and nothing fails.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = run_in_colab(fresh_colab, elsewhere, first_code_cells(1),
                         COURSE_REPO_URL="file:///nowhere")
    assert again.returncode == 0, again.stderr[-3000:]


def test_setup_cell_explains_an_unreachable_repository(fresh_colab, tmp_path):
    python, _ = fresh_colab
    subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", "course_lib"],
                   capture_output=True)
    result = run_in_colab(fresh_colab, tmp_path, first_code_cells(1),
                          COURSE_REPO_URL="file:///nowhere/rnn-keras3")
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "Traceback" not in message
    assert message.startswith("course_lib could not be installed from "
                              "git+file:///nowhere/rnn-keras3@main")
    assert "%env COURSE_REPO_URL=" in message and "Upload the wheel" in message
