"""PyTorch models: a training loop around the user's ``torch.nn.Module``, saved as a ``state_dict``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import SavedModel, TrainingRun
from dsdl_golden._lifecycle.networks import NetworkModel

__all__ = ["TorchModel"]


class TorchModel(NetworkModel):
    """Train a ``torch.nn.Module`` on the preprocessed features with mini-batch gradient descent.

    Parameters
    ----------
    module : torch.nn.Module
        Takes a float32 batch ``(n, n_features)``; returns one output per class (logits) for
        classification, or one value per row for regression.
    loss : torch loss module, optional
        Default ``CrossEntropyLoss`` for classification, ``MSELoss`` for regression.
    optimizer : callable, optional
        ``optimizer(parameters, lr)`` returning a torch optimizer; default ``torch.optim.Adam``.
    epochs, batch_size, learning_rate : optional
        Default: the SPL parameters of the same names, else 10, 64 and 0.001.

    A regression target is standardised for training and predictions are scaled back, so that the
    network trains well whatever the target's units.

    Saved as the module's ``state_dict`` (``model.pt``); loading builds the module again with
    ``build_model`` and loads the weights (``torch.load(weights_only=True)``).
    """

    framework: ClassVar[str] = "torch"
    name: ClassVar[str] = "torch"
    file_name: ClassVar[str] = "model.pt"

    def __init__(
        self,
        module: Any,
        *,
        loss: Any = None,
        optimizer: Callable[..., Any] | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
    ) -> None:
        self.module = module
        self.loss = loss
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate

    @property
    def model(self) -> Any:
        return self.module

    def _tensor(self, features: pd.DataFrame) -> Any:
        import torch

        return torch.from_numpy(features.to_numpy(dtype=np.float32, copy=True))

    def fit(self, features: pd.DataFrame, target: pd.Series | None, run: TrainingRun) -> dict[str, Any]:
        import torch

        labels = torch.from_numpy(self._training_target(target, run.task, "PyTorch"))
        torch.manual_seed(run.random_state)
        inputs = self._tensor(features)
        default_loss = torch.nn.CrossEntropyLoss if run.task == "classification" else torch.nn.MSELoss
        loss_fn = self.loss or default_loss()
        epochs = int(self.epochs or run.param("epochs", 10))
        batch_size = int(self.batch_size or run.param("batch_size", 64))
        rate = float(self.learning_rate or run.param("learning_rate", 1e-3))
        make_optimizer = self.optimizer or torch.optim.Adam
        optimizer = make_optimizer(self.module.parameters(), lr=rate)
        generator = torch.Generator().manual_seed(run.random_state)
        self.module.train()
        mean_loss = float("nan")
        for epoch in range(1, epochs + 1):
            total, order = 0.0, torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(inputs), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                outputs = self.module(inputs[batch])
                if run.task != "classification":
                    outputs = outputs.reshape(-1)
                loss = loss_fn(outputs, labels[batch])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            mean_loss = total / max(len(inputs), 1)
            run.log_step(epoch, loss=mean_loss)
        self.module.eval()
        return {"epochs": epochs, "batch_size": batch_size, "learning_rate": rate, "final_loss": mean_loss}

    def _outputs(self, features: pd.DataFrame) -> np.ndarray:
        import torch

        self.module.eval()
        with torch.no_grad():
            return np.asarray(self.module(self._tensor(features)).detach().cpu().numpy(), dtype=np.float64)

    def save(self, directory: Path) -> dict[str, Any]:
        import torch

        torch.save(self.module.state_dict(), directory / self.file_name)
        return self._state()

    @classmethod
    def restore(
        cls, directory: Path, state: Mapping[str, Any], rebuild: Callable[[], SavedModel]
    ) -> SavedModel:
        import torch

        adapter = rebuild()
        if not isinstance(adapter, TorchModel):
            raise TypeError(
                f"the saved model is a PyTorch model, but build_model now returns "
                f"{type(adapter.model).__name__}"
            )
        adapter.module.load_state_dict(torch.load(directory / cls.file_name, weights_only=True))
        adapter.module.eval()
        adapter._restore_state(state)
        return adapter
