"""Build ``count`` distinct small model files, ``.keras`` and ``.h5`` alternating (run by the Keras interpreter).

    python benchmarks/distinct_models.py FOLDER COUNT

Five small CNN families (the shipped examples' shapes); every layer's name carries the file's index, so no two
files share bytes (a cache keyed on content gains nothing). Written once and cached by ``common.distinct_models``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def layers_for(keras, family: int, tag: str) -> list:
    layers = keras.layers

    def conv(filters: int, k: int) -> object:
        return layers.Conv2D(filters, (3, 3), activation="relu", name=f"conv{k}_{tag}")

    def pool(k: int) -> object:
        return layers.MaxPooling2D((2, 2), name=f"pool{k}_{tag}")

    head = [layers.Flatten(name=f"flat_{tag}"), layers.Dense(10, activation="softmax", name=f"out_{tag}")]
    if family == 0:
        return [conv(32, 1), pool(1), conv(16, 2), pool(2), *head]
    if family == 1:
        return [conv(128, 1), pool(1), conv(64, 2), pool(2), *head]
    if family == 2:
        return [conv(64, 1), pool(1), conv(32, 2), pool(2), *head]
    if family == 3:
        return [conv(64, 1), layers.BatchNormalization(name=f"bn1_{tag}"), pool(1), conv(32, 2),
                layers.BatchNormalization(name=f"bn2_{tag}"), pool(2), layers.Dropout(0.25, name=f"drop_{tag}"), *head]
    return [layers.RandomFlip("horizontal", name=f"flip_{tag}"), conv(64, 1), pool(1), conv(32, 2), pool(2), *head]


def main(folder: Path, count: int) -> None:
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        tag = f"m{i:05d}"
        model = keras.Sequential([keras.Input((28, 28, 1), name=f"in_{tag}"), *layers_for(keras, i % 5, tag)],
                                 name=f"model_{tag}")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        suffix = ".keras" if i % 2 == 0 else ".h5"
        model.save(folder / f"{tag}{suffix}")
        if i % 200 == 0:
            keras.backend.clear_session()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
