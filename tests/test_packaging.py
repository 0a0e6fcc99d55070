"""``import cnnlint`` gives the whole package (rules and reports included) however it is installed.

The layout keeps ``cnnlint/``, ``rules/`` and ``reports/`` side by side; pyproject maps the last two into the
package. The README leaves a new user at the checkout's root, where the local ``cnnlint/`` shadows any install, so
each case below runs the README's API calls in a fresh interpreter: from the checkout without an install, after
``pip install .``, from an editable install, and from a wheel. Offline: no index, no build isolation (setuptools
comes from the test environment), and every interpreter is a bare venv whose only extra path holds cnnlint's
dependencies.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

DEPENDENCIES = ("click", "jinja2", "markupsafe", "h5py", "numpy")
BUILD_TOOLS = ("setuptools", "_distutils_hack", "pkg_resources", "wheel", "packaging")
SOURCE_PARTS = ("cnnlint", "rules", "reports", "pyproject.toml", "README.md")
EXAMPLE = "example2_plain.keras"

# The README's API calls on a file (a live Keras model needs Keras, which these bare venvs do not have).
API_SCRIPT = """
import json, sys
import cnnlint, cnnlint.rules, cnnlint.reports
report = cnnlint.check(sys.argv[1], samples=2000)
assert report.error is None and report.findings  # the risk model file's presence is checked in the wheel
outputs = [report.to_json(), report.to_markdown(), report.to_html(), report.to_sarif()]
assert all(outputs) and json.loads(outputs[0])["models"][0]["findings"]
print(json.dumps({"cnnlint": cnnlint.__file__, "rules": cnnlint.rules.__file__,
                   "reports": cnnlint.reports.__file__, "codes": sorted({f.code for f in report.findings})}))
"""


def _module_paths(names: tuple[str, ...]) -> list[Path]:
    paths = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        location = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        paths.append(location)
        libs = location.parent / f"{name}.libs"  # manylinux wheels keep their shared libraries beside the package
        if libs.is_dir():
            paths.append(libs)
    return paths


def _metadata_paths(names: tuple[str, ...]) -> list[Path]:
    """The dist-info folders: setuptools registers its own setup() keywords through its entry points."""
    paths = []
    for name in names:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        path = getattr(distribution, "_path", None)
        if path is not None:
            paths.append(Path(path))
    return paths


@pytest.fixture(scope="module")
def dependencies(tmp_path_factory) -> Path:
    """One folder with links to cnnlint's dependencies and the build backend, and nothing else."""
    folder = tmp_path_factory.mktemp("deps")
    for path in _module_paths(DEPENDENCIES + BUILD_TOOLS) + _metadata_paths(DEPENDENCIES + BUILD_TOOLS):
        (folder / path.name).symlink_to(path)
    return folder


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the checkout's package sources (a build writes build/ and *.egg-info into the tree)."""
    root = tmp_path_factory.mktemp("checkout")
    for part in SOURCE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / part)
    shutil.copy(REPO / "examples" / EXAMPLE, root / EXAMPLE)
    return root


def make_venv(folder: Path, dependencies: Path) -> Path:
    """A venv without pip and without cnnlint; a .pth file puts the dependency folder on its path."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    lines = [str(dependencies)]
    precedence = Path(importlib.util.find_spec("setuptools").origin).parent.parent / "distutils-precedence.pth"
    if precedence.is_file():  # setuptools < 71 needs its distutils shim installed at start-up
        lines.append(precedence.read_text().strip())
    Path(site, "cnnlint_test_deps.pth").write_text("\n".join(lines) + "\n")
    return python


def pip(python: Path, *args: str, cwd: Path) -> None:
    """This environment's pip, acting on another interpreter, offline."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                            env={**_clean_env(), "PIP_NO_INDEX": "1"})  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}


def run_api(python: Path, cwd: Path, model: Path, extra_path: Path | None = None) -> dict:
    env = _clean_env()
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    result = subprocess.run([str(python), "-c", API_SCRIPT, str(model)], cwd=cwd, capture_output=True, text=True,
                            env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_imported_from(found: dict, package_root: Path, rules: Path, reports: Path) -> None:
    assert Path(found["cnnlint"]).parent == package_root / "cnnlint"
    assert Path(found["rules"]).parent == rules
    assert Path(found["reports"]).parent == reports
    assert {"R201", "C106"} <= set(found["codes"])


def source_packages() -> set[str]:
    """Every package of the checkout, named as installed (rules/ and reports/ go inside cnnlint)."""
    packages = set()
    for root, installed in (("cnnlint", "cnnlint"), ("rules", "cnnlint.rules"), ("reports", "cnnlint.reports")):
        for init in (REPO / root).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / root).parts
            packages.add(".".join((installed, *parts)))
    return packages


def test_pyproject_lists_every_package():
    """A package folder missing from pyproject's list is left out of wheels and installs (cnnlint.graph once was)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: cnnlint depends on tomli there
        import tomli as tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert listed == source_packages()


def test_from_the_checkout_without_an_install(tmp_path, dependencies, checkout):
    python = make_venv(tmp_path / "venv", dependencies)
    found = run_api(python, checkout, checkout / EXAMPLE)
    assert_imported_from(found, checkout, checkout / "rules", checkout / "reports")


@pytest.mark.slow
def test_after_pip_install_from_the_checkout_and_elsewhere(tmp_path, dependencies, checkout):
    python = make_venv(tmp_path / "venv", dependencies)
    pip(python, "install", "--no-deps", "--no-build-isolation", ".", cwd=checkout)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    installed = site / "cnnlint"
    # at the checkout's root the local cnnlint/ shadows the install, and still finds rules/ and reports/
    at_root = run_api(python, checkout, checkout / EXAMPLE)
    assert_imported_from(at_root, checkout, checkout / "rules", checkout / "reports")
    elsewhere = run_api(python, tmp_path, checkout / EXAMPLE)
    assert_imported_from(elsewhere, site, installed / "rules", installed / "reports")


@pytest.mark.slow
def test_editable_install(tmp_path, dependencies, checkout):
    python = make_venv(tmp_path / "venv", dependencies)
    pip(python, "install", "--no-deps", "--no-build-isolation", "-e", ".", cwd=checkout)
    for cwd in (checkout, tmp_path):
        found = run_api(python, cwd, checkout / EXAMPLE)
        assert_imported_from(found, checkout, checkout / "rules", checkout / "reports")


@pytest.mark.slow
def test_wheel_holds_the_whole_package_and_imports(tmp_path, dependencies, checkout):
    python = make_venv(tmp_path / "venv", dependencies)
    pip(python, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), ".", cwd=checkout)
    (wheel,) = (tmp_path / "dist").glob("cnnlint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "unpacked")
    expected = {"cnnlint/rules/__init__.py", "cnnlint/reports/__init__.py", "cnnlint/data/risk_model.json",
                "cnnlint/risk_trees_static.py", "cnnlint/risk_trees_with_probes.py"}  # fmt: skip
    assert expected <= names  # without the generated tree modules every lint would compile the trees at load
    assert {f"{package.replace('.', '/')}/__init__.py" for package in source_packages()} <= names
    assert any(name.startswith("cnnlint/reports/templates/") and name.endswith(".j2") for name in names)
    assert not any(name.startswith(("rules/", "reports/", "tests/")) for name in names)
    unpacked = tmp_path / "unpacked"
    found = run_api(python, tmp_path, checkout / EXAMPLE, extra_path=unpacked)
    assert_imported_from(found, unpacked, unpacked / "cnnlint" / "rules", unpacked / "cnnlint" / "reports")
