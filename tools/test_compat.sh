#!/usr/bin/env bash
# Build a second environment and run the unit tests plus notebook 01 (nbval) in it.
#
#   tools/test_compat.sh colab   # Python 3.13 + tests/compat/requirements-colab.txt
#   tools/test_compat.sh floor   # Python 3.10 + tests/compat/requirements-floor.txt
#
# The environment lives in .compat/<name>/ and is rebuilt when its requirements file changes.
# The Python comes from pyenv (`pyenv versions`) or from python3.X on the PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

name=${1:?usage: tools/test_compat.sh colab|floor}
case $name in
  colab) python_version=3.13 ;;
  floor) python_version=3.10 ;;
  *) echo "unknown environment '$name': choose colab or floor" >&2; exit 2 ;;
esac
requirements=tests/compat/requirements-$name.txt
env=.compat/$name

find_python() {
  local candidate
  if command -v pyenv >/dev/null 2>&1; then
    candidate=$(pyenv root)/versions/$(pyenv versions --bare | grep -E "^${python_version}\.[0-9]+$" | sort -V | tail -n 1)/bin/python
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  fi
  command -v "python$python_version" || {
    echo "Python $python_version not found: install it (e.g. \`pyenv install $python_version\`)" >&2
    exit 2
  }
}

stamp=$env/.requirements
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  python=$(find_python)
  echo "== building $env with $($python --version) and $requirements"
  rm -rf "$env"
  "$python" -m venv "$env"
  "$env/bin/python" -m pip install --quiet --upgrade pip
  "$env/bin/python" -m pip install --progress-bar off -r "$requirements"
  cp "$requirements" "$stamp"
fi
# the test tools (what the dev extra has), without touching the pinned versions above
"$env/bin/python" -m pip install --quiet "pytest>=8" "nbval>=0.11" "nbformat>=5.9" nbclient \
  "jupytext>=1.16" ipykernel "setuptools>=77"

# The course's own package, from a freshly built wheel, without changing the pinned versions;
# `pip check` then says whether those versions satisfy the wheel's declared ranges.
rm -rf "$env/wheel"
"$env/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$env/wheel" .
"$env/bin/python" -m pip install --quiet --force-reinstall --no-deps "$env"/wheel/course_lib-*.whl
"$env/bin/python" -m pip check
"$env/bin/python" - <<'PY'
import platform, keras, tensorflow, course_lib
print(f"== {platform.python_version()} tensorflow={tensorflow.__version__} "
      f"keras={keras.__version__} course_lib={course_lib.__version__}")
PY

start=$(date +%s)
COURSE_PROFILE=fast "$env/bin/python" -m pytest -q -p no:cacheprovider --nbval-lax \
  --nbval-current-env tests notebooks/01_vanilla_rnn.ipynb
echo "== $name: passed in $(( $(date +%s) - start )) s"
