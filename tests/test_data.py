import dataclasses
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from course_lib import data, text


def _spec(tmp_path: Path, content: bytes, **overrides) -> data.DatasetFile:
    source = tmp_path / "remote" / "corpus.txt"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(content)
    fields = dict(dataset="toy", path="toy/corpus.txt", url=source.as_uri(),
                  sha256=hashlib.sha256(content).hexdigest())
    return data.DatasetFile(**(fields | overrides))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No mirror, and a cache in a temporary folder."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path


def test_registry_lists_every_mirrored_file_with_its_hash(mirror):
    manifest = json.loads((mirror / "MANIFEST.json").read_text())
    mirrored = {f["path"]: f["sha256"] for d in manifest for f in d["files"]}
    registered = {f["path"]: f["sha256"] for d in data.registry().values() for f in d["files"]}
    assert registered == mirrored


def test_every_registered_dataset_names_license_citation_and_url():
    for name, entry in data.registry().items():
        assert entry["license"] and entry["citation"], name
        assert all(f["url"].startswith("http") for f in entry["files"]), name


def test_mirror_file_is_found_and_verified(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    path = data.dataset_file("time_machine")
    assert path == mirror / "time_machine" / "timemachine.txt"


def test_corrupt_byte_in_mirror_copy_raises_clear_checksum_error(mirror, tmp_path, monkeypatch):
    copy = tmp_path / "mirror" / "time_machine" / "timemachine.txt"
    copy.parent.mkdir(parents=True)
    content = bytearray((mirror / "time_machine" / "timemachine.txt").read_bytes())
    content[1000] ^= 0x01
    copy.write_bytes(bytes(content))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "mirror"))
    spec = data.registered_file("time_machine")
    with pytest.raises(data.DatasetError) as error:
        data.dataset_file("time_machine")
    message = str(error.value)
    assert str(copy) in message
    assert spec.sha256 in message
    assert hashlib.sha256(bytes(content)).hexdigest() in message
    assert "delete it" in message and spec.url in message


def test_missing_file_offline_says_where_it_looked_and_what_to_do(isolated):
    spec = _spec(isolated, b"abc", url=(isolated / "nowhere" / "corpus.txt").as_uri())
    with pytest.raises(data.DatasetError) as error:
        data.fetch(spec)
    message = str(error.value)
    assert "corpus.txt" in message and "download" in message
    assert data.DATA_DIR_ENV in message


def test_download_lands_in_cache_and_is_verified(isolated):
    spec = _spec(isolated, b"to be or not to be")
    path = data.fetch(spec)
    assert path == isolated / "cache" / "toy" / "corpus.txt"
    assert path.read_bytes() == b"to be or not to be"


def test_download_with_wrong_hash_is_rejected_and_removed(isolated):
    spec = _spec(isolated, b"tampered", sha256="0" * 64)
    with pytest.raises(data.DatasetError, match="checksum mismatch"):
        data.fetch(spec)
    assert not (isolated / "cache" / "toy" / "corpus.txt").exists()


def test_download_extracts_member_from_tarball(isolated):
    payload = b"a fine film .\n"
    archive = isolated / "remote" / "bundle.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("bundle/pos.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    spec = data.DatasetFile("toy", "toy/pos.txt", archive.as_uri(),
                            hashlib.sha256(payload).hexdigest(), archive_member="bundle/pos.txt")
    assert data.fetch(spec).read_bytes() == payload


def test_zip_member_is_verified_by_its_own_hash(isolated):
    archive = isolated / "cache" / "toy" / "pairs.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pairs/pairs.txt", "Go.\tVa !\n")
    good = hashlib.sha256(b"Go.\tVa !\n").hexdigest()
    spec = data.DatasetFile("toy", "toy/pairs.zip", "http://example.invalid/pairs.zip", "x" * 64,
                            members={"pairs.txt": good})
    assert data.read_member(spec, "pairs.txt") == b"Go.\tVa !\n"
    bad = dataclasses.replace(spec, members={"pairs.txt": "0" * 64})
    with pytest.raises(data.DatasetError, match="member pairs.txt"):
        data.read_member(bad, "pairs.txt")


def test_real_zip_member_from_mirror(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    pairs = data.read_text_member("fra_eng", "fra.txt").splitlines()
    assert len(pairs) == 167_130
    assert pairs[0].split("\t") == ["Go.", "Va !"]


def test_unknown_dataset_lists_the_registered_ones():
    with pytest.raises(data.DatasetError, match="tiny_shakespeare"):
        data.registered_file("no_such_corpus")


def test_split_text_is_contiguous_and_complete():
    splits = data.split_text("abcdefghijklmnopqrst", 0.1, 0.2)
    assert (splits.train, splits.val, splits.test) == ("abcdefghijklmn", "op", "qrst")
    with pytest.raises(ValueError, match="val"):
        data.split_text("abc", 0.6, 0.5)


def test_tiny_shakespeare_splits_have_documented_sizes(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    splits = data.load_tiny_shakespeare()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1_003_855, 55_769, 55_770)
    assert splits.train.startswith("First Citizen:")


def test_time_machine_is_lower_cased(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    splits = data.load_time_machine()
    text = splits.train + splits.val + splits.test
    assert len(text) == 178_979 and text == text.lower()


SUNSPOT_TABLE = """\
                          MONTHLY MEAN SUNSPOT NUMBERS
Year    Jan   Feb   Mar   Apr   May   Jun   Jul   Aug   Sep   Oct   Nov   Dec
1749    58.0  62.6  70.0  55.7  85.0  83.5  94.8  66.3  75.9  75.5 158.6  85.2
1750    73.3  75.9  89.2  88.3  90.0 100.0  85.4 103.0  91.2  65.7  63.3  75.4
1751    70.0  43.5*
Note:  Data are preliminary.
"""


def test_parse_sunspots_reads_years_in_order_and_a_partial_last_year():
    series = data.parse_sunspots_monthly(SUNSPOT_TABLE)
    assert (series.start_year, len(series.values)) == (1749, 26)
    assert series.values[0] == pytest.approx(58.0) and series.values[-1] == pytest.approx(43.5)
    assert series.index_of(1751, 2) == 25


@pytest.mark.parametrize("bad,message", [
    ("1750    73.3  x  89.2", "line 4: not a year of numbers"),
    ("1752    1 2 3 4 5 6 7 8 9 10 11 12", "line 4: year 1752 follows 1749"),
])
def test_parse_sunspots_names_the_bad_line(bad, message):
    lines = SUNSPOT_TABLE.splitlines()
    lines[3] = bad
    with pytest.raises(data.DatasetError, match=message):
        data.parse_sunspots_monthly("\n".join(lines))


def test_parse_sunspots_rejects_a_short_year_before_the_last():
    lines = SUNSPOT_TABLE.splitlines()
    lines[2] = "1749    58.0  62.6"
    with pytest.raises(data.DatasetError, match="line 3: expected 12 monthly values"):
        data.parse_sunspots_monthly("\n".join(lines))


def test_real_sunspots_span_1749_to_mid_2009(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    series = data.load_sunspots_monthly()
    assert len(series.values) == 3126 and series.index_of(2009, 6) == 3125
    assert series.values[0] == pytest.approx(58.0) and series.values.min() >= 0


CONLLU = """# sent_id = 1
# text = I didn't go.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdidn't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdid\tdo\tAUX\tVBD\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t_\t_
4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_parse_conllu_keeps_syntactic_words_and_upos():
    sentences = data.parse_conllu(CONLLU)
    assert sentences == [(["I", "did", "n't", "go", "."], ["PRON", "AUX", "PART", "VERB", "PUNCT"]),
                         (["Hi"], ["INTJ"])]


def test_corrupt_conllu_line_names_its_line_number():
    corrupt = CONLLU.replace("4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_", "4 go go VERB")
    with pytest.raises(data.DatasetError, match="dev.conllu, line 8: expected a token line"):
        data.parse_conllu(corrupt, "dev.conllu")


def test_ud_english_ewt_splits(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    splits = data.load_ud_english_ewt()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1801, 200, 2077)
    words, tags = splits.train[0]
    assert words[:3] == ["From", "the", "AP"] and tags[:3] == ["ADP", "DET", "PROPN"]


def test_rt_polarity_is_balanced_and_split_the_same_way_every_time(mirror, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(mirror))
    splits = data.load_rt_polarity()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (8530, 1066, 1066)
    labels = [label for _, label in splits.train + splits.val + splits.test]
    assert sum(labels) == 5331 and len(labels) == 10662
    assert data.load_rt_polarity().test == splits.test
    assert any("\x85" in text for text, _ in splits.train)  # cp1252 ellipsis kept inside lines


def test_parse_sentence_pairs_reads_tabs_and_names_a_broken_line():
    text_ = "Go.\tVa !\tCC-BY 2.0\nHi.\tSalut !\n\n"
    assert data.parse_sentence_pairs(text_) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    with pytest.raises(data.DatasetError, match="fra.txt, line 2: expected 'english<TAB>"):
        data.parse_sentence_pairs("Go.\tVa !\nbroken line\n", "fra.txt")


def test_sentence_pairs_split_by_english_sentence_and_filter_length(mirror):
    splits = data.load_sentence_pairs("fra_eng", max_tokens=5)
    sides = [{en for en, _ in split} for split in (splits.train, splits.val, splits.test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert all(len(text.tokenize(fr)) <= 5 for _, fr in splits.train)
    assert len(splits.test) > 1000 and splits.test == data.load_sentence_pairs(
        "fra_eng", max_tokens=5).test


def test_unknown_pair_dataset_raises():
    with pytest.raises(ValueError, match="unknown pair dataset 'deu_eng'"):
        data.load_sentence_pairs("deu_eng")
