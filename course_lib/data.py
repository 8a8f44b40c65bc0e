"""Datasets: the registry, checksummed file access, and the loaders with fixed splits.

Every file the course reads is listed in ``course_lib/registry.json`` (shipped inside the
package, so an installed wheel needs no clone) with its canonical URL and sha256.
:func:`dataset_file` finds a file in this order and verifies it every time:

1. ``$COURSE_DATA_DIR/<path>`` — an offline mirror (CI and this workplace use one);
2. the download cache ``$COURSE_CACHE_DIR/<path>``, by default ``$XDG_CACHE_HOME/course_lib``
   or ``~/.cache/course_lib`` (a user folder, never inside the installed package);
3. a download from the canonical URL into the cache (``keras.utils.get_file``).

A file whose sha256 differs from the registry, or a file that cannot be found or downloaded,
raises :class:`DatasetError` with one message that names the file and says what to do.
Zip archives are verified by the sha256 of the member that is read, because zips of identical
content differ between hosts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "REGISTRY_PATH", "DATA_DIR_ENV", "CACHE_DIR_ENV", "DatasetError", "DatasetFile",
    "registry", "registered_file", "sha256_of", "cache_dir", "dataset_file", "fetch",
    "read_member", "TextSplits", "split_text", "load_tiny_shakespeare", "load_time_machine",
    "read_text_member", "MonthlySeries", "parse_sunspots_monthly", "load_sunspots_monthly",
    "LabelledSplits", "load_rt_polarity", "parse_conllu", "load_ud_english_ewt", "PAIR_FILES",
    "parse_sentence_pairs", "load_sentence_pairs",
]

REGISTRY_PATH = Path(__file__).resolve().with_name("registry.json")
DATA_DIR_ENV = "COURSE_DATA_DIR"
CACHE_DIR_ENV = "COURSE_CACHE_DIR"


class DatasetError(RuntimeError):
    """A dataset file is missing, cannot be downloaded, or fails its checksum."""


@dataclass(frozen=True)
class DatasetFile:
    """One registered file: where it lives relative to a data folder, and how to verify it."""

    dataset: str
    path: str  # relative to the data folder, e.g. "tiny_shakespeare/input.txt"
    url: str
    sha256: str
    members: dict[str, str] | None = None  # zip member basename -> sha256 (verify members only)
    archive_member: str | None = None  # the URL is an archive holding this member

    @property
    def filename(self) -> str:
        return Path(self.path).name


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------


def registry(path: Path = REGISTRY_PATH) -> dict[str, dict]:
    """All registered datasets by name (description, license, citation, files)."""
    return {entry["name"]: entry for entry in json.loads(path.read_text())["datasets"]}


def registered_file(dataset: str, filename: str | None = None) -> DatasetFile:
    """The registry entry of ``dataset``'s file ``filename`` (its only file when omitted)."""
    entries = registry()
    if dataset not in entries:
        raise DatasetError(
            f"unknown dataset {dataset!r}; registered: {', '.join(sorted(entries))}"
        )
    files = entries[dataset]["files"]
    names = [Path(f["path"]).name for f in files]
    if filename is None and len(files) == 1:
        filename = names[0]
    if filename not in names:
        raise DatasetError(f"dataset {dataset!r} has files {names}; got filename={filename!r}")
    spec = files[names.index(filename)]
    return DatasetFile(dataset, spec["path"], spec["url"], spec["sha256"],
                       spec.get("members"), spec.get("archive_member"))


# --------------------------------------------------------------------------------------------
# locating, downloading and verifying
# --------------------------------------------------------------------------------------------


def sha256_of(data: bytes | Path) -> str:
    """Hex sha256 of bytes or of a file's content."""
    digest = hashlib.sha256()
    if isinstance(data, Path):
        with data.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(data)
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where downloads go: ``$COURSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/course_lib``, else
    ``~/.cache/course_lib``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    user_cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(user_cache).expanduser() / "course_lib"


def _candidates(spec: DatasetFile) -> list[Path]:
    folders = [Path(p) for p in [os.environ.get(DATA_DIR_ENV)] if p] + [cache_dir()]
    return [folder / spec.path for folder in folders]


def _verify(spec: DatasetFile, path: Path, origin: str) -> Path:
    """Return ``path`` if its sha256 matches the registry (zips: checked per member)."""
    if spec.members is not None:
        return path
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise DatasetError(
            f"checksum mismatch for {spec.dataset} file {path} ({origin}): expected sha256 "
            f"{spec.sha256}, got {actual}. The file is corrupt or a different version: delete "
            f"it and run again to re-download from {spec.url}, or replace it with a good copy."
        )
    return path


def _download(spec: DatasetFile, target: Path) -> Path:
    """Download ``spec.url`` (extracting ``archive_member`` if set) to ``target``."""
    import keras

    target.parent.mkdir(parents=True, exist_ok=True)
    fname = Path(spec.url).name if spec.archive_member else spec.filename
    try:
        fetched = Path(keras.utils.get_file(fname=fname, origin=spec.url,
                                            cache_dir=str(target.parent), cache_subdir="."))
    except Exception as error:  # get_file raises plain Exception on network failures
        raise DatasetError(
            f"{spec.dataset} file {spec.filename} not found in "
            f"{' or '.join(str(p.parent) for p in _candidates(spec))} and the download from "
            f"{spec.url} failed ({error}). Offline? Point {DATA_DIR_ENV} at a folder holding "
            f"{spec.path} (e.g. `export {DATA_DIR_ENV}=../shared/datasets`), or download the "
            f"file by hand to {target}."
        ) from error
    if spec.archive_member:
        with tarfile.open(fetched) as archive, target.open("wb") as out:
            shutil.copyfileobj(archive.extractfile(spec.archive_member), out)
    return target


def dataset_file(dataset: str, filename: str | None = None) -> Path:
    """Path to a verified copy of a registered file (mirror, then cache, then download)."""
    return fetch(registered_file(dataset, filename))


def fetch(spec: DatasetFile) -> Path:
    """Path to a verified copy of ``spec``; see the module docstring for the search order."""
    for candidate in _candidates(spec):
        if candidate.is_file():
            return _verify(spec, candidate, "found locally")
    target = cache_dir() / spec.path
    try:
        return _verify(spec, _download(spec, target), f"downloaded from {spec.url}")
    except DatasetError:
        if target.exists() and spec.members is None:
            target.unlink()  # never leave a bad download in the cache
        raise


def read_member(spec: DatasetFile, member: str) -> bytes:
    """Bytes of zip member ``member`` (matched by basename), verified by its own sha256."""
    if not spec.members or member not in spec.members:
        raise DatasetError(f"{spec.path} has no registered member {member!r}")
    path = fetch(spec)
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if Path(n).name == member]
            if not names:
                raise DatasetError(f"{path} holds no member named {member!r}")
            data = archive.read(names[0])
    except zipfile.BadZipFile as error:
        raise DatasetError(
            f"{path} is not a readable zip ({error}); delete it and run again to re-download "
            f"from {spec.url}, or replace it with a good copy."
        ) from error
    actual = sha256_of(data)
    if actual != spec.members[member]:
        raise DatasetError(
            f"checksum mismatch for member {member} of {path}: expected sha256 "
            f"{spec.members[member]}, got {actual}. Replace the archive with a good copy "
            f"(canonical URL: {spec.url})."
        )
    return data


# --------------------------------------------------------------------------------------------
# loaders with fixed splits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextSplits:
    """A corpus cut into contiguous train/validation/test strings (in that order)."""

    train: str
    val: str
    test: str


def split_text(text: str, val_fraction: float = 0.05, test_fraction: float = 0.05) -> TextSplits:
    """Cut ``text`` into contiguous train | val | test pieces (no shuffling: no leakage of
    neighbouring characters between splits). Fractions are of characters."""
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"expected 0 <= fractions and val+test < 1, got val={val_fraction}, "
            f"test={test_fraction}"
        )
    n = len(text)
    train_end = round(n * (1 - val_fraction - test_fraction))
    val_end = round(n * (1 - test_fraction))
    return TextSplits(text[:train_end], text[train_end:val_end], text[val_end:])


def load_tiny_shakespeare() -> TextSplits:
    """Tiny Shakespeare (1,115,394 chars) split 90/5/5 by position: train ≈ 1.00M chars,
    val ≈ 55.8k, test ≈ 55.8k."""
    return split_text(dataset_file("tiny_shakespeare").read_text(encoding="utf-8"))


def load_time_machine() -> TextSplits:
    """The Time Machine (178,979 chars), lower-cased, split 90/5/5 by position."""
    return split_text(dataset_file("time_machine").read_text(encoding="utf-8").lower())


def read_text_member(dataset: str, member: str, encoding: str = "utf-8") -> str:
    """Text of a verified zip member of ``dataset`` (e.g. ``("fra_eng", "fra.txt")``)."""
    return read_member(registered_file(dataset), member).decode(encoding)


@dataclass(frozen=True)
class MonthlySeries:
    """A monthly time series starting in ``start_year``-``start_month`` (month 1 = January)."""

    values: np.ndarray  # (months,) float32
    start_year: int
    start_month: int = 1

    def index_of(self, year: int, month: int = 1) -> int:
        """Position of the given month in ``values``."""
        return (year - self.start_year) * 12 + (month - self.start_month)

    def years(self) -> np.ndarray:
        """(months,) float64 decimal years, for plotting."""
        import numpy as np

        return self.start_year + (self.start_month - 1 + np.arange(len(self.values))) / 12


def parse_sunspots_monthly(text: str, source: str = "sunspots_monthly.dat") -> MonthlySeries:
    """Parse the table ``YEAR v_jan … v_dec`` (one year a line; the last year may be partial).

    Raises:
        DatasetError: a data line that is not a year followed by 1–12 numbers, a year out of
            sequence, or a short year before the last one — naming the line number.
    """
    values, first_year, previous_year, short_line = [], None, None, None
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or not fields[0].isdigit() or len(fields[0]) != 4:
            continue  # titles, rules and notes
        try:
            year, months = int(fields[0]), [float(v.rstrip("*")) for v in fields[1:]]
        except ValueError as error:
            raise DatasetError(f"{source}, line {number}: not a year of numbers ({error}): "
                               f"{line.strip()!r}") from error
        if short_line is not None:
            raise DatasetError(f"{source}, line {short_line[0]}: expected 12 monthly values "
                               f"(only the last year may be shorter), got {short_line[1]}")
        if not 1 <= len(months) <= 12:
            raise DatasetError(f"{source}, line {number}: expected 1 to 12 monthly values, got "
                               f"{len(months)}: {line.strip()!r}")
        if previous_year is not None and year != previous_year + 1:
            raise DatasetError(f"{source}, line {number}: year {year} follows {previous_year}")
        first_year = year if first_year is None else first_year
        previous_year = year
        short_line = (number, len(months)) if len(months) < 12 else None
        values.extend(months)
    if not values:
        raise DatasetError(f"{source}: no data lines found")
    return MonthlySeries(np.asarray(values, dtype=np.float32), first_year, 1)


def load_sunspots_monthly() -> MonthlySeries:
    """Monthly mean sunspot numbers, January 1749 – June 2009 (3,126 months)."""
    path = dataset_file("sunspots", "sunspots_monthly.dat")
    return parse_sunspots_monthly(path.read_text(encoding="ascii"), path.name)


# --------------------------------------------------------------------------------------------
# labelled text: sentence polarity and UD English EWT
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledSplits:
    """Train/validation/test lists of (text-or-tokens, label-or-tags) examples."""

    train: list
    val: list
    test: list


def load_rt_polarity(val_fraction: float = 0.1, test_fraction: float = 0.1,
                     seed: int = 0) -> LabelledSplits:
    """Sentence polarity v1.0 (Pang & Lee): 5,331 positive and 5,331 negative snippets
    (lower-cased, tokenised, latin-1 encoded) as (text, label) pairs, label 1 = positive.

    The corpus has no official split: the pairs are shuffled with ``seed`` and cut into
    80/10/10 % train/val/test, the same every time.
    """
    examples = []
    for filename, label in (("rt-polarity.neg", 0), ("rt-polarity.pos", 1)):
        text = dataset_file("rt_polarity", filename).read_text(encoding="latin-1")
        # split on "\n" only: str.splitlines() would also break at byte 0x85, which this
        # cp1252 text uses for an ellipsis
        examples += [(line.strip(), label) for line in text.split("\n") if line.strip()]
    order = np.random.default_rng(seed).permutation(len(examples))
    shuffled = [examples[i] for i in order]
    n_val, n_test = round(len(shuffled) * val_fraction), round(len(shuffled) * test_fraction)
    n_train = len(shuffled) - n_val - n_test
    return LabelledSplits(shuffled[:n_train], shuffled[n_train:n_train + n_val],
                          shuffled[n_train + n_val:])


def parse_conllu(text: str, source: str = "<conllu>") -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL-U file as (words, UPOS tags) pairs.

    Comment lines (#) are skipped, and so are multi-word token ranges ("1-2") and empty nodes
    ("8.1"), so the words are the syntactic words the tags belong to.

    Raises:
        DatasetError: a token line without the 10 tab-separated fields, naming its line number.
    """
    sentences, words, tags = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10 or not fields[0].replace("-", "").replace(".", "").isdigit():
            raise DatasetError(f"{source}, line {number}: expected a token line of 10 "
                               f"tab-separated fields (ID FORM LEMMA UPOS …), got "
                               f"{len(fields)} field(s): {line[:60]!r}")
        if fields[0].isdigit():
            words.append(fields[1])
            tags.append(fields[3])
    if words:
        sentences.append((words, tags))
    return sentences


def load_ud_english_ewt(val_fraction: float = 0.1) -> LabelledSplits:
    """UD English EWT r2.16 as (words, UPOS tags) sentences.

    Only the dev and test files are available offline, so: train = the first 90 % of dev's
    sentences, val = the last 10 % of dev, test = the official test file.
    """
    def read(filename: str):
        path = dataset_file("ud_english_ewt", filename)
        return parse_conllu(path.read_text(encoding="utf-8"), path.name)

    dev = read("en_ewt-ud-dev.conllu")
    n_train = round(len(dev) * (1 - val_fraction))
    return LabelledSplits(dev[:n_train], dev[n_train:], read("en_ewt-ud-test.conllu"))


# --------------------------------------------------------------------------------------------
# sentence pairs for translation (Tatoeba, via manythings.org/anki)
# --------------------------------------------------------------------------------------------

PAIR_FILES = {"fra_eng": "fra.txt", "spa_eng": "spa.txt"}


def parse_sentence_pairs(text: str, source: str = "<pairs>") -> list[tuple[str, str]]:
    """(english, other) pairs from tab-separated lines ``english<TAB>other[<TAB>attribution]``.
    A non-empty line without a tab raises :class:`DatasetError` naming the line."""
    pairs = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise DatasetError(f"{source}, line {number}: expected 'english<TAB>translation', "
                               f"got {line[:60]!r}; the file is damaged, replace it")
        pairs.append((fields[0].strip(), fields[1].strip()))
    return pairs


def load_sentence_pairs(dataset: str = "fra_eng", max_tokens: int | None = None,
                        val_fraction: float = 0.05, test_fraction: float = 0.05,
                        seed: int = 0) -> LabelledSplits:
    """English–French (``fra_eng``) or English–Spanish (``spa_eng``) sentence pairs as
    (english, translation) strings, split into train/val/test.

    ``max_tokens`` keeps only pairs whose two sides have at most that many tokens
    (:func:`course_lib.text.tokenize`). The split is by *English sentence*: Tatoeba often
    translates one sentence several ways, and all its pairs go to the same split, so a test
    sentence is never seen in training. The same arguments always give the same splits.
    """
    from course_lib.text import tokenize

    if dataset not in PAIR_FILES:
        raise ValueError(f"unknown pair dataset {dataset!r}; choose one of {list(PAIR_FILES)}")
    member = PAIR_FILES[dataset]
    pairs = parse_sentence_pairs(read_text_member(dataset, member), member)
    if max_tokens is not None:
        pairs = [(en, other) for en, other in pairs
                 if len(tokenize(en)) <= max_tokens and len(tokenize(other)) <= max_tokens]
    sentences = sorted({en for en, _ in pairs})
    shuffled = [sentences[i] for i in np.random.default_rng(seed).permutation(len(sentences))]
    n_val, n_test = round(len(shuffled) * val_fraction), round(len(shuffled) * test_fraction)
    test_side, val_side = set(shuffled[:n_test]), set(shuffled[n_test:n_test + n_val])
    return LabelledSplits(
        train=[pair for pair in pairs if pair[0] not in test_side and pair[0] not in val_side],
        val=[pair for pair in pairs if pair[0] in val_side],
        test=[pair for pair in pairs if pair[0] in test_side])
