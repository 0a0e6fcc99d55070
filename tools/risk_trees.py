"""The risk model's trees as Python modules (``cnnlint.tree_code``), generated from the shipped risk_model.json.

    python tools/risk_trees.py          # writes cnnlint/risk_trees_static.py and cnnlint/risk_trees_with_probes.py

``python -m study fit-risk`` writes them with the JSON it fits; this script is for a change of the generator alone
(it records the modules' new digests in the fit-risk stamp, so ``python -m study`` still calls that step current).
``tests/test_tree_code.py`` fails when a committed module differs from what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from study.paths import RISK_MODEL  # noqa: E402
from study.pipeline import generated_tree_modules, restamp_outputs, write_whole  # noqa: E402


def main() -> None:
    modules = generated_tree_modules(RISK_MODEL.read_text(encoding="utf-8"))
    for path, text in modules.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_whole(path, text)
            print(f"wrote {path.relative_to(ROOT)}")
    restamp_outputs("fit-risk", list(modules))


if __name__ == "__main__":
    main()
