"""The risk model's trees as Python modules (``cnnlint.tree_code``), generated from the shipped risk_model.json.

    python tools/risk_trees.py          # writes cnnlint/risk_trees_static.py and cnnlint/risk_trees_with_probes.py

``python -m study fit-risk`` writes them with the JSON it fits; this script is for a change of the generator alone.
``tests/test_tree_code.py`` fails when a committed module differs from what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from study.paths import RISK_MODEL  # noqa: E402
from study.pipeline import generated_tree_modules  # noqa: E402


def main() -> None:
    for path, text in generated_tree_modules(RISK_MODEL.read_text(encoding="utf-8")).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            partial = path.with_name(path.name + ".partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
