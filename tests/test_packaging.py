"""course_lib as a package: the wheel is self-contained (registry inside, cache outside)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import course_lib
from course_lib import data


def test_wheel_carries_the_dataset_registry(course_wheel):
    names = zipfile.ZipFile(course_wheel).namelist()
    assert "course_lib/registry.json" in names
    assert "course_lib/learning_rates.json" in names  # notebook 07 reads it, in Colab too
    assert course_wheel.name.startswith(f"course_lib-{course_lib.__version__}-py3-none-any")


def test_installed_wheel_loads_a_dataset_outside_the_repository(course_wheel, mirror, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(site), str(course_wheel)], check=True)
    script = ("import course_lib, course_lib.data as d; "
              "print(course_lib.__file__); print(d.cache_dir()); "
              "print(len(d.load_tiny_shakespeare().train))")
    env = {k: v for k, v in os.environ.items() if k != data.CACHE_DIR_ENV}
    env |= {"PYTHONPATH": str(site), "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": "",
            data.DATA_DIR_ENV: str(mirror)}
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    module_file, cache, train_chars = run.stdout.split()
    assert Path(module_file).is_relative_to(site)
    assert Path(cache) == tmp_path / "home" / ".cache" / "course_lib"
    assert int(train_chars) == 1_003_855


def test_cache_defaults_to_a_user_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(data.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / "course_lib"
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "mine"))
    assert data.cache_dir() == tmp_path / "mine"
