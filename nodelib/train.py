"""A plain, seeded training loop for classifiers (home chapter: 2. CNNs; reused by the ODE-Net).

The loop is the one of every deep-learning course: for each mini-batch, compute
the loss, backpropagate, take an optimiser step. Nothing here knows what the
model is, so a CNN, a ResNet and an ODE-Net all train with the same code.

- :func:`make_loader`: a seeded ``DataLoader`` (the same shuffling on every run);
- :func:`train_epoch`: one pass over the data, returns the mean training loss;
- :func:`evaluate`, :func:`predict`, :func:`accuracy`, :func:`confusion_matrix`;
- :func:`fit`: several epochs with a progress bar, returning a history;
- :func:`fit_regression`: full-batch least squares, for small 1-D fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from nodelib import config


def make_loader(
    data, batch_size: int = 64, *, shuffle: bool = True, seed: int = 0
) -> torch.utils.data.DataLoader:
    """A DataLoader over ``data`` whose shuffling is fixed by ``seed``.

    data: a :class:`nodelib.data.ImageData`, a ``torch.utils.data.Dataset`` or
    a pair ``(inputs, labels)`` of tensors with the same first dimension.
    """
    if hasattr(data, "tensor_dataset"):
        data = data.tensor_dataset()
    elif isinstance(data, tuple):
        inputs, labels = data
        if len(inputs) != len(labels):
            raise ValueError(
                f"inputs and labels must have the same length, got {len(inputs)} and {len(labels)}"
            )
        data = torch.utils.data.TensorDataset(inputs, labels)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(
        data, batch_size=batch_size, shuffle=shuffle, generator=generator
    )


def _device(model: nn.Module, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else config.DEVICE


def train_epoch(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    *,
    loss_fn=nn.functional.cross_entropy,
    device=None,
    progress: bool = False,
    desc: str = "batches",
) -> float:
    """One pass over ``loader``: loss, backward, optimiser step for each mini-batch.

    loader yields ``(inputs, labels)``; loss_fn(logits, labels) -> scalar.
    The model is put in training mode (matters for batch normalisation and dropout).
    Returns the mean training loss over the epoch (weighted by batch size).
    """
    device = _device(model, device)
    model.train()
    total_loss, count = 0.0, 0
    for inputs, labels in tqdm(loader, desc=desc, leave=False, disable=not progress):
        inputs, labels = inputs.to(device), labels.to(device)
        loss = loss_fn(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        count += len(labels)
    if count == 0:
        raise ValueError("the loader yielded no batches; is the data set empty?")
    return total_loss / count


@torch.no_grad()
def predict(model: nn.Module, loader, *, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits (N, classes), labels (N,))`` for every example of ``loader``, in order, on CPU."""
    device = _device(model, device)
    model.eval()
    all_logits, all_labels = [], []
    for inputs, labels in loader:
        all_logits.append(model(inputs.to(device)).cpu())
        all_labels.append(labels.cpu())
    return torch.cat(all_logits), torch.cat(all_labels)


def accuracy(logits_or_predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correct predictions, in [0, 1].

    logits_or_predictions: (N, classes) scores (the arg-max is the prediction)
    or (N,) predicted class indices; labels: (N,) true class indices.
    """
    predictions = logits_or_predictions
    if predictions.ndim == 2:
        predictions = predictions.argmax(dim=1)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"predictions have shape {tuple(predictions.shape)} but labels have "
            f"shape {tuple(labels.shape)}; give one prediction per label"
        )
    return (predictions == labels).float().mean().item()


def evaluate(model: nn.Module, loader, *, loss_fn=nn.functional.cross_entropy, device=None) -> dict:
    """Mean loss and accuracy of ``model`` on ``loader``, in evaluation mode, without gradients.

    Returns ``{"loss": float, "accuracy": float in [0, 1]}``.
    """
    logits, labels = predict(model, loader, device=device)
    return {"loss": loss_fn(logits, labels).item(), "accuracy": accuracy(logits, labels)}


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int):
    """(num_classes, num_classes) int64 counts: row = true class, column = predicted class.

    predictions, labels: (N,) class indices in ``0..num_classes-1``.
    """
    if predictions.shape != labels.shape:
        raise ValueError(
            f"predictions {tuple(predictions.shape)} and labels {tuple(labels.shape)} differ"
        )
    for name, values in (("predictions", predictions), ("labels", labels)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1}, got {values.unique()}")
    flat = labels.long() * num_classes + predictions.long()
    counts = torch.bincount(flat, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch."""

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)


def fit(
    model: nn.Module,
    train_loader,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    test_loader=None,
    loss_fn=nn.functional.cross_entropy,
    device=None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train for ``epochs`` epochs; after each, evaluate on ``test_loader`` if given.

    Shows one progress bar over the epochs (with the latest losses). Returns a :class:`History`.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    history = History()
    bar = tqdm(range(epochs), desc=desc, disable=not progress)
    for _ in bar:
        history.train_loss.append(
            train_epoch(model, train_loader, optimizer, loss_fn=loss_fn, device=device)
        )
        status = {"train loss": f"{history.train_loss[-1]:.3f}"}
        if test_loader is not None:
            scores = evaluate(model, test_loader, loss_fn=loss_fn, device=device)
            history.test_loss.append(scores["loss"])
            history.test_accuracy.append(scores["accuracy"])
            status["test acc"] = f"{scores['accuracy']:.3f}"
        bar.set_postfix(status)
    return history


def fit_regression(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int = 2000, lr: float = 1e-2
) -> list[float]:
    """Fit ``model(x) ≈ y`` by full-batch Adam on the mean squared error.

    x: (N, in_features), y: (N, out_features). Returns the loss after every step.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
