"""The lint output stays what it was before the speed work (issue 26): the examples, the Keras 2 files and the rule
test models in every format, -j1 and -j2, against digests written by the code before it
(``tests/fixtures/lint_outputs/make_outputs.py``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "lint_outputs"


def test_output_is_identical_to_the_frozen_digests():
    spec = importlib.util.spec_from_file_location("make_outputs", FIXTURE / "make_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = json.loads((FIXTURE / "outputs.json").read_text(encoding="utf-8"))
    now = module.outputs()
    assert now.keys() == expected.keys()
    assert [case for case in expected if now[case] != expected[case]] == []
