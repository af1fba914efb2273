"""The deployment zip: deterministic bytes, modes, what is left out, size limits, dependencies
merged from the cache. pip is stood in for by tests/pip_fakes.py: no network."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from pip_fakes import FakePip, handler_with_requirements

from pipectl.build import packaging
from pipectl.build.platforms import lambda_platform
from pipectl.errors import BuildError

ARM = lambda_platform("python3.12", "arm64")


def entries(package: packaging.Package) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        return {info.filename: info for info in archive.infolist()}


def read(package: packaging.Package, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        return archive.read(name).decode()


def test_same_files_give_the_same_bytes_whatever_their_times(tmp_path):
    source = tmp_path / "src"
    (source / "lib").mkdir(parents=True)
    (source / "app.py").write_text("import lib.util\n")
    (source / "lib" / "util.py").write_text("X = 1\n")
    first = packaging.build(str(source))
    os.utime(source / "app.py", (1_900_000_000, 1_900_000_000))
    again = packaging.build(str(source))
    assert again.zip_bytes == first.zip_bytes and again.sha256 == first.sha256
    (source / "lib" / "util.py").write_text("X = 2\n")
    assert packaging.build(str(source)).sha256 != first.sha256


def test_entries_are_sorted_fixed_in_time_and_mode_and_leave_caches_out(tmp_path):
    source = tmp_path / "src"
    for name in ("app.py", "b/tool", "a/x.py", "a/__pycache__/x.cpython-312.pyc", "c.pyc"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("data\n")
    (source / ".venv" / "lib").mkdir(parents=True)
    (source / ".venv" / "lib" / "site.py").write_text("x\n")
    os.chmod(source / "b" / "tool", 0o700)  # executable: Lambda needs 755, not the owner's 700
    package = packaging.build(str(source))
    found = entries(package)
    assert list(found) == ["a/x.py", "app.py", "b/tool"]
    assert package.files == ("a/x.py", "app.py", "b/tool")
    assert {info.date_time for info in found.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.create_system for info in found.values()} == {3}
    assert found["b/tool"].external_attr >> 16 == 0o755
    assert found["app.py"].external_attr >> 16 == 0o644


def test_dependencies_are_merged_and_built_once(tmp_path):
    source = handler_with_requirements(tmp_path / "src")
    pip = FakePip()
    first = packaging.build(str(source), ARM, tmp_path / "cache", pip)
    again = packaging.build(str(source), ARM, tmp_path / "cache", pip)
    assert len(pip.calls) == 1  # the second build came from the cache
    assert again.zip_bytes == first.zip_bytes
    names = list(entries(first))
    assert "fakepkg/__init__.py" in names and "fakepkg-1.0.dist-info/METADATA" in names
    assert names[-1] == "app.py"  # the handler's own files after them
    assert "requirements.txt" not in names  # build input: it may name an index with a token
    assert [(d.name, d.version) for d in first.packages] == [("fakepkg", "1.0")]
    assert first.unzipped_bytes == sum(info.file_size for info in entries(first).values())
    assert entries(first)["fakepkg/_speedups.so"].external_attr >> 16 == 0o755


def test_what_pip_writes_differently_each_run_never_reaches_the_zip(tmp_path):
    """Two builds from scratch (separate caches): console scripts naming an interpreter,
    bytecode, direct_url.json and RECORD rows with random hashes for those all differ between
    the runs, and the zips are still identical."""
    source = handler_with_requirements(tmp_path / "src")
    first = packaging.build(str(source), ARM, tmp_path / "cache-1", FakePip())
    second = packaging.build(str(source), ARM, tmp_path / "cache-2", FakePip())
    assert first.sha256 == second.sha256
    names = list(entries(first))
    assert not [n for n in names if n.startswith("bin/") or "__pycache__" in n]
    assert "fakepkg-1.0.dist-info/direct_url.json" not in names
    record = read(first, "fakepkg-1.0.dist-info/RECORD").splitlines()
    assert record == sorted(record)
    assert not [row for row in record if row.startswith(("../", "bin/")) or ".pyc" in row]
    assert any(row.startswith("fakepkg/__init__.py,") for row in record)


def test_source_over_lambdas_unzipped_limit_is_refused_before_reading_it(tmp_path):
    """A sparse file: 251 MB long, nothing on disk; the size check comes from stat()."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("x = 1\n")
    with open(source / "model.bin", "wb") as sparse:
        sparse.truncate(251 * 1024 * 1024)
    with pytest.raises(BuildError) as info:
        packaging.build(str(source))
    assert "over Lambda's 250.0 MB limit" in info.value.message
    assert "251.0 MB" in info.value.message and info.value.exit_code == 1


def test_dependencies_over_the_limit_name_the_largest_package(tmp_path):
    source = handler_with_requirements(tmp_path / "src", "bigpkg\n")
    pip = FakePip(name="bigpkg", extra_bytes=300 * 1024 * 1024)
    with pytest.raises(BuildError) as info:
        packaging.build(str(source), ARM, tmp_path / "cache", pip)
    assert "bigpkg 300.0 MB" in info.value.message
    assert list((tmp_path / "cache").glob("*/deps.zip")) == []  # nothing too big is cached


def test_a_handler_file_that_a_package_also_installs_is_refused(tmp_path):
    source = handler_with_requirements(tmp_path / "src")
    (source / "fakepkg").mkdir()
    (source / "fakepkg" / "__init__.py").write_text("# my own copy\n")
    with pytest.raises(BuildError) as info:
        packaging.build(str(source), ARM, tmp_path / "cache", FakePip())
    assert "fakepkg/__init__.py" in info.value.message


def test_a_requirements_file_of_comments_installs_nothing(tmp_path):
    source = handler_with_requirements(tmp_path / "src", "# requests==2.32.3\n\n   # more\n")
    pip = FakePip()
    package = packaging.build(str(source), ARM, tmp_path / "cache", pip)
    assert pip.calls == [] and package.packages == ()
    assert list(entries(package)) == ["app.py"]


@pytest.mark.parametrize(
    ("zip_bytes", "fits"),
    [(0, True), (52_300_000, True), (52_428_800, False), (60_000_000, False)],
)
def test_direct_upload_limit_is_lambdas_request_size(zip_bytes, fits):
    """Lambda refuses a request over 69,905,067 bytes; the zip travels base64-encoded in it."""
    assert packaging.fits_in_request(zip_bytes) is fits
