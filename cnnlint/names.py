"""What a serialized name resolves to when Keras loads it, found without importing Keras.

A config names an object by ``module`` + ``class_name`` (a function: ``"class_name": "function"`` and the name in
``config``), optionally with ``registered_name``.  The loaders resolve it like this:

* Keras 3 (``keras/src/saving/serialization_lib.py``, ``_retrieve_class_or_fn``): a registered custom object
  first (``registered_name`` for a class, the function's name for a function); then, for ``module`` ``keras`` or
  ``keras.*``, the exported name ``module + "." + name`` (so ``"keras"`` + ``"layers.TorchModuleWrapper"`` *is*
  ``keras.layers.TorchModuleWrapper``: the name may be dotted); for ``module`` ``builtins`` and a function, the
  name in ``keras.activations``, ``losses``, ``metrics``, ...; otherwise it imports ``module`` and takes its
  attribute ``name``.
* tf_keras 2 (``tf_keras/src/saving/serialization_lib.py``): the same, but it imports *any* module, falls back to
  the attribute ``registered_name``, and follows one dot inside the module (``"os.system"`` is the module's
  ``os`` attribute, then its ``system``).
* Without a ``module`` (Keras 2 configs), the name is looked up among the built-ins of the kind being loaded, or
  among the custom objects the loading code registered.

``resolve`` returns every object a config entry can resolve to in either loader, each as the dotted path Keras
would load (``keras.layers.Lambda``, ``keras.datasets.mnist.load_data``, ``os.system``) with a verdict: the rules
judge that, never the spelling.  Only names in ``cnnlint/keras_names.py`` (built-in layers, initializers,
regularizers, constraints, activations, losses, metrics, optimizers, dtype policies, the model classes, the
operations of ``keras.ops`` and the helper layers of ``keras.applications``, generated from Keras itself) are
``SAFE``; everything else a module resolves to is an error for the S4 rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cnnlint.keras_names import SAFE as KNOWN

#: Markers Keras deserializes as plain data, never as a class or function.
DATA_NAMES = frozenset({"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__",
                        "__tuple__"})  # fmt: skip
LAMBDA = "__lambda__"
#: Keras non-modeling functions a config without a module can name (Keras 2 style); with a module they resolve.
KERAS_API_NAMES = frozenset({
    "get_file", "load_model", "load_weights", "enable_unsafe_deserialization", "save_model", "save_weights",
    "model_from_json", "model_from_config", "deserialize_keras_object", "set_random_seed", "file_utils", "io_utils",
    "export", "register_keras_serializable", "get_custom_objects", "custom_object_scope",
})  # fmt: skip
#: The packages that are Keras, as a module path starts; the first that matches is the root.
KERAS_ROOTS = ("tensorflow.python.keras", "tensorflow.keras", "tf_keras", "keras")
#: Package levels between a root and a namespace: ``keras.src.layers``, ``keras.api._tf_keras.keras.layers``.
INTERNAL_LEVELS = frozenset({"src", "api", "_tf_keras", "keras", "_v1", "_v2"})
#: Namespaces Keras searches for a function named with ``"module": "builtins"``.
BUILTIN_NAMESPACES = ("activations", "constraints", "initializers", "losses", "metrics", "optimizers", "regularizers")

SAFE, CODE, FILE, TF_OP, KERAS_API, FOREIGN, CUSTOM, DATA = (
    "safe", "code", "file", "tf-op", "keras-api", "foreign", "custom", "data")  # fmt: skip

#: The layer classes that carry code, and what they carry: code the file stores or names (a Lambda's function, a
#: pickled torch module, a JAX function), a file they load when the model is loaded, or a TensorFlow function or op
#: their config names (tf.keras).  The rules, the graph builder and the names table read these.
CODE_CARRYING_LAYERS: dict[str, str] = {
    "Lambda": CODE, "TorchModuleWrapper": CODE, "JaxLayer": CODE, "FlaxLayer": CODE,
    "TFSMLayer": FILE,
    "TFOpLambda": TF_OP, "SlicingOpLambda": TF_OP, "TensorFlowOpLayer": TF_OP,
}  # fmt: skip
CODE_LAYERS = frozenset(name for name, carries in CODE_CARRYING_LAYERS.items() if carries == CODE)
FILE_LAYERS = frozenset(name for name, carries in CODE_CARRYING_LAYERS.items() if carries == FILE)
TF_OP_LAYERS = frozenset(name for name, carries in CODE_CARRYING_LAYERS.items() if carries == TF_OP)
#: The TF-op layers whose config names the function they call (``function``: ``math.add``, ``__operators__.add``);
#: a ``TensorFlowOpLayer`` carries a NodeDef instead.
TF_FUNCTION_LAYERS = TF_OP_LAYERS - {"TensorFlowOpLayer"}


@dataclass(frozen=True)
class Resolved:
    """One object a config entry can resolve to."""

    target: str  # the dotted path Keras would load ("keras.layers.Dense", "os.system"), or a bare name
    verdict: str  # SAFE, CODE, FILE, TF_OP, KERAS_API, FOREIGN, CUSTOM or DATA
    leaf: str  # the object's own name: the last part of the path
    kind: str  # "class" or "function"

    @property
    def shown(self) -> str:
        return self.target[:200]


def resolve(obj: dict[str, Any]) -> tuple[Resolved, ...]:
    """Everything ``obj`` (a dict with a ``class_name``) can resolve to in Keras 3 or tf_keras; empty if nothing."""
    return _resolve(*_spelling(obj))


def _spelling(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(kind, name, module, registered name) as written; empty strings where absent or not text."""
    class_name = obj.get("class_name")
    if not isinstance(class_name, str):
        return "", "", "", ""
    kind, name = "class", class_name
    if class_name == "function":
        kind, name = "function", obj.get("config") if isinstance(obj.get("config"), str) else ""
    elif class_name == "__typespec__":
        name = obj.get("spec_name") if isinstance(obj.get("spec_name"), str) else ""
    module, registered = obj.get("module"), obj.get("registered_name")
    return kind, name, module if isinstance(module, str) else "", registered if isinstance(registered, str) else ""


@lru_cache(maxsize=4096)
def _resolve(kind: str, name: str, module: str, registered: str) -> tuple[Resolved, ...]:
    if not name:
        return ()
    if name in DATA_NAMES:
        return (Resolved(name, DATA, name, kind),)
    if name == LAMBDA:
        return (Resolved(name, CODE, name, kind),)
    found: list[Resolved] = []
    if ">" in registered or (kind == "function" and ">" in name):  # a registered custom object comes first
        found.append(Resolved(registered or name, CUSTOM, (registered or name).rpartition(">")[2], kind))
    if not module:
        found.append(_bare(name, kind))
    elif module == "builtins" and kind == "function":
        found.append(_builtin_function(name))
    else:
        found.append(judge(f"{module}.{name}", kind, dotted_below_module=_below_root(module) and "." in name))
        if registered and registered != name and ">" not in registered:  # tf_keras's fallback attribute
            found.append(judge(f"{module}.{registered}", kind, dotted_below_module=_below_root(module)
                               and "." in registered))  # fmt: skip
    return tuple(dict.fromkeys(found))


def judge(path: str, kind: str = "class", dotted_below_module: bool = False) -> Resolved:
    """The verdict on the object at a dotted ``path`` (``module.name``)."""
    parts = _keras_parts(path)
    leaf = path.rpartition(".")[2]
    if parts is None:  # outside Keras: only the TensorFlow initializers tf.keras itself writes
        module = path.rpartition(".")[0]
        return Resolved(path, SAFE if leaf in KNOWN.get(module, ()) else FOREIGN, leaf, kind)
    special = _special(leaf)
    if special is not None:
        return Resolved(path, special, leaf, kind)
    if dotted_below_module:  # tf_keras: an attribute of whatever the module imported (``io_utils.os.system``)
        return Resolved(path, FOREIGN, leaf, kind)
    namespace = parts[0] if len(parts) > 1 else "top"
    return Resolved(path, SAFE if leaf in KNOWN.get(namespace, ()) else KERAS_API, leaf, kind)


def _special(leaf: str) -> str | None:
    return CODE if leaf == LAMBDA else CODE_CARRYING_LAYERS.get(leaf)


def _keras_parts(path: str) -> list[str] | None:
    """The parts of ``path`` after its Keras root and internal levels, or ``None`` when it is not in Keras."""
    for root in KERAS_ROOTS:
        if path.startswith(root + "."):
            parts = path[len(root) + 1 :].split(".")
            while len(parts) > 1 and parts[0] in INTERNAL_LEVELS:
                parts.pop(0)
            return parts
    return None


def _below_root(module: str) -> bool:
    """Whether ``module`` is a module inside Keras rather than a Keras root itself (``keras``, ``keras.src``)."""
    parts = _keras_parts(module + ".x")
    return parts is None or len(parts) > 1


def _builtin_function(name: str) -> Resolved:
    """``"module": "builtins"``: a Keras built-in function of that name; failing that, tf_keras imports
    ``builtins`` and takes the attribute (``exec``, ``eval``, ``open``, ...)."""
    for namespace in BUILTIN_NAMESPACES:
        if name in KNOWN.get(namespace, ()):
            return Resolved(f"keras.{namespace}.{name}", SAFE, name, "function")
    return Resolved(f"builtins.{name}", FOREIGN, name.rpartition(".")[2], "function")


def _bare(name: str, kind: str) -> Resolved:
    """A name without a module: a built-in of the kind being loaded, or a custom object of the loading code."""
    plain = name[len("Custom>") :] if name.startswith("Custom>") else name  # tf.keras's own registrations
    special = _special(plain)
    if special is not None:
        return Resolved(plain, special, plain, kind)
    if "." not in plain and any(plain in names for names in KNOWN.values()):
        return Resolved(plain, SAFE, plain, kind)
    if plain in KERAS_API_NAMES:
        return Resolved(plain, KERAS_API, plain, kind)
    return Resolved(name, CUSTOM, plain, kind)


def unsafe(found: tuple[Resolved, ...]) -> tuple[Resolved, ...]:
    """Those of ``found`` (what an object can resolve to: ``resolve``) that are neither safe, plain data nor a
    custom object of the loading code."""
    return tuple(r for r in found if r.verdict not in (SAFE, DATA, CUSTOM))


def layer_class(class_name: str, module: str | None) -> str:
    """The built-in layer class a layer entry resolves to when that is unambiguous and safe (``"keras"`` +
    ``"layers.Dense"`` is ``Dense``), else ``class_name`` as written: the graph models what Keras would build."""
    if "." not in class_name or not module:
        return class_name
    found = _resolve("class", class_name, module, "")
    if len(found) == 1 and found[0].verdict == SAFE and _keras_parts(found[0].target)[0] == "layers":
        return found[0].leaf
    return class_name
