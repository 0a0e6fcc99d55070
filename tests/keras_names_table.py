"""Build ``cnnlint/keras_names.py``, the known-safe names the S4 rules judge resolved names against, from Keras.

    python tests/keras_names_table.py        # rewrites cnnlint/keras_names.py from the installed keras and tf_keras

The table lists, per Keras namespace, the classes (and for activations, losses and metrics the functions) that a
model config may name: built-in layers, initializers, regularizers, constraints, activations, losses, metrics,
optimizers and their schedules, dtype policies, the model classes, the operation classes Keras 3 writes for
``keras.ops`` calls, and the helper layers of ``keras.applications``.  The helpers every namespace exports
(``get``, ``serialize``, ``deserialize``) and the layers that run or load code (``CODE_LAYERS``, ``FILE_LAYERS``,
``TF_OP_LAYERS``) are left out: the rules judge those by name.  ``tests/test_names.py`` checks that the committed
table is what this script builds from the installed versions.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnnlint.names import CODE_LAYERS, FILE_LAYERS, TF_OP_LAYERS  # noqa: E402

HELPERS = {"get", "serialize", "deserialize"}
#: what the rules judge by name, and tf.keras's wrapper of an arbitrary ``tf.Module``
EXCLUDED = {*CODE_LAYERS, *FILE_LAYERS, *TF_OP_LAYERS, "ModuleWrapper"}
#: namespace -> (attribute path in keras / tf_keras, what to take: "classes" or "callables")
NAMESPACES = {
    "layers": (["layers", "layers.experimental", "layers.experimental.preprocessing"], "classes"),
    "initializers": (["initializers"], "classes"),
    "regularizers": (["regularizers"], "callables"),
    "constraints": (["constraints"], "classes"),
    "activations": (["activations"], "callables"),
    "losses": (["losses"], "callables"),
    "metrics": (["metrics", "metrics.experimental"], "callables"),
    "optimizers": (["optimizers", "optimizers.schedules", "optimizers.legacy", "optimizers.experimental"], "classes"),
    "dtype_policies": (["dtype_policies"], "classes"),
    "mixed_precision": (["mixed_precision"], "classes"),
    "models": (["models"], "classes"),
    "random": (["random"], "classes"),
    "quantizers": (["quantizers"], "classes"),
}
#: internal packages whose classes Keras writes with their module (``keras.src.models.functional``, ...)
INTERNAL = {
    "models": ["keras.src.models"],
    "engine": ["tf_keras.src.engine"],
    "ops": ["keras.src.ops"],
    "applications": ["keras.src.applications", "tf_keras.src.applications"],
}
#: TensorFlow modules tf.keras writes into configs (the initializers of some keras.applications networks)
TF_MODULES = ("tensorflow.python.ops.init_ops", "tensorflow.python.ops.init_ops_v2")


def _attribute(module, path: str):
    for part in path.split("."):
        module = getattr(module, part, None)
        if module is None:
            return None
    return module


def _public(namespace, what: str) -> set[str]:
    names = set()
    for name in dir(namespace):
        value = getattr(namespace, name)
        if name.startswith("_") or name in HELPERS or inspect.ismodule(value):
            continue
        if (inspect.isclass(value) and hasattr(value, "from_config")) or (what == "callables" and callable(value)):
            names.add(name)
    return names


def _defined_classes(package: str, base) -> set[str]:
    """Subclasses of ``base`` defined in the modules of ``package`` (tests and benchmarks skipped)."""
    root = importlib.import_module(package)
    found = set()
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith(("_test", "_benchmark", "test_utils")) or ".tests." in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # an optional dependency missing: its classes cannot be loaded either
            continue
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == info.name and issubclass(value, base) and name not in EXCLUDED:
                found.add(name)
    return found


def generate() -> dict[str, frozenset[str]]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tf_keras

    table: dict[str, set[str]] = {}
    for namespace, (paths, what) in NAMESPACES.items():
        for lib in (keras, tf_keras):
            for path in paths:
                found = _attribute(lib, path)
                if found is not None:
                    table.setdefault(namespace, set()).update(_public(found, what))
    table["layers"] -= {"Input", "InputSpec", *EXCLUDED}
    table["models"] = {name for name in table["models"] if name[0].isupper()}
    table["top"] = {name for lib in (keras, tf_keras) for name in _public(lib, "classes")} - {"Input", "InputSpec"}
    bases = {"models": keras.Model, "engine": tf_keras.layers.Layer, "ops": keras.Operation}
    for namespace, packages in INTERNAL.items():
        for package in packages:
            base = bases.get(namespace) or (keras.layers.Layer if package.startswith("keras") else tf_keras.layers.Layer)
            table.setdefault(namespace, set()).update(_defined_classes(package, base))
    table["models"].add("Functional")
    for module in TF_MODULES:
        initializers = importlib.import_module(module)
        table[module] = {name for name, value in vars(initializers).items() if inspect.isclass(value)
                         and value.__module__ == module and not name.startswith("_")}  # fmt: skip
    return {namespace: frozenset(names) for namespace, names in sorted(table.items())}


def render(table: dict[str, frozenset[str]]) -> str:
    import keras
    import tf_keras

    lines = ['"""Known-safe names per Keras namespace (generated by ``python tests/keras_names_table.py`` from keras',
             f"{keras.__version__} and tf_keras {tf_keras.__version__}; do not edit by hand)."
             '\n\nSee ``cnnlint/names.py`` for how a serialized name is resolved to one of these."""',
             "", "from __future__ import annotations", "", "SAFE: dict[str, frozenset[str]] = {"]  # fmt: skip
    for namespace, names in table.items():
        lines.append(f"    {namespace!r}: frozenset({{")
        row = "       "
        for name in sorted(names):
            item = f" {name!r},"
            if len(row) + len(item) > 118:
                lines.append(row)
                row = "       "
            row += item
        lines += [row, "    }),"]
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (ROOT / "cnnlint" / "keras_names.py").write_text(render(generate()))
