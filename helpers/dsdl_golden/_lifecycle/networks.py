"""What Keras and PyTorch models share: class labels as indices, a standardised regression target,
outputs read as class probabilities, and that state saved beside the weights."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import ModelAdapter

__all__ = ["NetworkModel", "TargetScale", "as_probabilities", "encode_labels"]


def encode_labels(target: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The sorted class labels of ``target`` and each row's class index (for neural networks)."""
    classes, codes = np.unique(target.to_numpy(), return_inverse=True)
    return classes, codes.astype(np.int64)


def as_probabilities(outputs: np.ndarray, n_classes: int, *, logits: bool | None = None) -> np.ndarray:
    """Network outputs as class probabilities: one column (the second class) for two classes through
    a sigmoid, several columns (one per class) through a softmax, unless they are probabilities.

    ``logits`` says whether the outputs are logits (True) or probabilities (False); None guesses from
    the values of the whole batch (one column outside [0, 1], rows not summing to 1: logits). Give it
    when the network's last layer tells: a guess can read the same output differently in another batch.
    """
    values = np.asarray(outputs, dtype=np.float64)
    if values.ndim == 1 or values.shape[1] == 1:
        positive = values.reshape(-1)
        if n_classes != 2:
            raise ValueError(f"the network has one output but the target has {n_classes} classes")
        if logits is None:
            logits = bool(positive.min(initial=0.0) < 0 or positive.max(initial=1.0) > 1)
        if logits:
            positive = 1 / (1 + np.exp(-positive))
        return np.column_stack([1 - positive, positive])
    if values.shape[1] != n_classes:
        raise ValueError(
            f"the network has {values.shape[1]} outputs but the target has {n_classes} classes: "
            "give the last layer one unit per class"
        )
    if logits is None:
        logits = not (values.min() >= 0 and np.allclose(values.sum(axis=1), 1.0, atol=1e-4))
    if not logits:
        return values
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class TargetScale:
    """A regression target standardised for training a network (``(y - mean) / std``) and back."""

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def of(cls, target: np.ndarray) -> TargetScale:
        """The scale of ``target`` (a constant target keeps std 1)."""
        std = float(np.std(target))
        return cls(float(np.mean(target)), std if std > 0 and np.isfinite(std) else 1.0)

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Standardised values (float32, for training)."""
        return ((values - self.mean) / self.std).astype(np.float32)

    def unscale(self, values: np.ndarray) -> np.ndarray:
        """Predictions back in the target's units."""
        return values * self.std + self.mean


class NetworkModel(ModelAdapter):
    """A neural network trained on the preprocessed features (see the Keras and PyTorch adapters).

    Subclasses give the raw outputs of the network (:meth:`_outputs`) and, when the network tells,
    whether they are logits (:meth:`_outputs_are_logits`).
    """

    target_scale: TargetScale = TargetScale()

    def _training_target(self, target: pd.Series | None, task: str, framework: str) -> np.ndarray:
        """The target as the network learns it: class indices, or the standardised regression target."""
        if target is None:
            raise ValueError(
                f"a {framework} model needs a target column: | fit MLTKContainer ... <target> from ..."
            )
        if task == "classification":
            self.classes_, codes = encode_labels(target)
            return codes
        values = target.to_numpy(dtype=np.float64)
        self.target_scale = TargetScale.of(values)
        return self.target_scale.scale(values)

    @abstractmethod
    def _outputs(self, features: pd.DataFrame) -> np.ndarray:
        """The network's raw outputs for ``features`` (float64)."""

    def _outputs_are_logits(self) -> bool | None:
        """True for logits, False for probabilities, None when the network does not tell."""
        return None

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        if self.classes_ is None:
            return self.target_scale.unscale(self._outputs(features).reshape(len(features), -1)[:, 0])
        probabilities = self.predict_proba(features)
        assert probabilities is not None
        return np.asarray(self.classes_[probabilities.argmax(axis=1)])

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray | None:
        if self.classes_ is None:
            return None
        return as_probabilities(
            self._outputs(features), len(self.classes_), logits=self._outputs_are_logits()
        )

    def _state(self) -> dict[str, Any]:
        """The classes and the target's scale, saved with the weights."""
        return {
            "classes": None if self.classes_ is None else self.classes_.tolist(),
            "target_scale": asdict(self.target_scale),
        }

    def _restore_state(self, state: Mapping[str, Any]) -> None:
        classes = state.get("classes")
        self.classes_ = None if classes is None else np.asarray(classes)
        self.target_scale = TargetScale(**state.get("target_scale", {}))
