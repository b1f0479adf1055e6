"""TensorFlow/Keras models: ``model.fit`` with per-epoch telemetry, saved in Keras' own ``.keras`` format."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import SavedModel, TrainingRun
from dsdl_golden._lifecycle.networks import NetworkModel

__all__ = ["KerasModel"]


class KerasModel(NetworkModel):
    """Train a ``keras.Model`` on the preprocessed features.

    Parameters
    ----------
    model : keras.Model
        Takes ``(n, n_features)`` float32 inputs. For classification give the last layer one unit
        per class (softmax or logits), or one sigmoid unit for two classes; for regression one unit.
        An uncompiled model is compiled with Adam and ``sparse_categorical_crossentropy``
        (classification, from logits unless the last layer is a softmax) or ``mse``.
    epochs, batch_size : optional
        Default: the SPL parameters of the same names, else 10 and 32.
    fit_kwargs : dict, optional
        More arguments for ``model.fit`` (``validation_split``, ``callbacks``...).

    A regression target is standardised for training and predictions are scaled back.

    Saved with ``model.save("model.keras")``; custom layers must be registered with
    ``keras.saving.register_keras_serializable`` to load.
    """

    framework: ClassVar[str] = "keras"
    name: ClassVar[str] = "keras"
    file_name: ClassVar[str] = "model.keras"

    def __init__(
        self,
        model: Any,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        fit_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.network = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.fit_kwargs = dict(fit_kwargs or {})

    @property
    def model(self) -> Any:
        return self.network

    def describe(self) -> str:
        return f"{type(self.network).__name__}({self.network.name}, {self.network.count_params()} parameters)"

    def _output_activation(self) -> str | None:
        """The activation of the network's last layer (``softmax``, ``sigmoid``, ``linear``...), or None
        when the last layer has none that can be told."""
        import keras

        last = self.network.layers[-1] if self.network.layers else None
        if isinstance(last, keras.layers.Softmax):
            return "softmax"
        name = getattr(getattr(last, "activation", None), "__name__", None)
        return name if isinstance(name, str) else None

    def _outputs_are_logits(self) -> bool | None:
        """True when the network outputs logits (its last layer is not a sigmoid or softmax), False for
        probabilities, None when that cannot be told (a subclassed model's last layer need not be its
        output)."""
        import keras

        if not isinstance(self.network, keras.Sequential) and type(self.network).__name__ != "Functional":
            return None
        activation = self._output_activation()
        return None if activation is None else activation not in {"sigmoid", "softmax"}

    def _compile(self, task: str) -> None:
        if getattr(self.network, "optimizer", None) is not None and getattr(self.network, "compiled", True):
            return
        if task == "classification":
            last = self.network.layers[-1] if self.network.layers else None
            activation = self._output_activation() or ""
            import keras

            if getattr(last, "units", None) == 1:
                loss: Any = keras.losses.BinaryCrossentropy(from_logits=activation != "sigmoid")
            else:
                loss = keras.losses.SparseCategoricalCrossentropy(from_logits=activation != "softmax")
            self.network.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        else:
            self.network.compile(optimizer="adam", loss="mse")

    def fit(self, features: pd.DataFrame, target: pd.Series | None, run: TrainingRun) -> dict[str, Any]:
        import keras

        keras.utils.set_random_seed(run.random_state)
        labels = self._training_target(target, run.task, "Keras")
        self._compile(run.task)
        epochs = int(self.epochs or run.param("epochs", 10))
        batch_size = int(self.batch_size or run.param("batch_size", 32))
        logger = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: run.log_step(
                epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}
            )
        )
        fit_kwargs = dict(self.fit_kwargs)  # the user's callbacks stay for the next fit (refit)
        callbacks = [*fit_kwargs.pop("callbacks", []), logger]
        history = self.network.fit(
            features.to_numpy(dtype=np.float32),
            labels,
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
            callbacks=callbacks,
            **fit_kwargs,
        )
        final = {name: float(values[-1]) for name, values in history.history.items() if values}
        return {"epochs": epochs, "batch_size": batch_size, "final": final}

    def _outputs(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(
            self.network.predict(features.to_numpy(dtype=np.float32), verbose=0), dtype=np.float64
        )

    def save(self, directory: Path) -> dict[str, Any]:
        self.network.save(directory / self.file_name)
        return self._state()

    @classmethod
    def restore(
        cls, directory: Path, state: Mapping[str, Any], rebuild: Callable[[], SavedModel]
    ) -> SavedModel:
        import keras

        adapter = cls(keras.models.load_model(directory / cls.file_name))
        adapter._restore_state(state)
        return adapter
