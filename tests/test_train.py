"""The generic training loop and its helpers."""

import pytest
import torch

import nodelib
from nodelib import train


def _blobs(n=200, seed=0):
    """Two well-separated Gaussian blobs in 2-D, labels 0 and 1."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])[labels]
    return centres + 0.5 * torch.randn(n, 2, generator=gen), labels


def test_accuracy_from_logits_and_from_predictions_agree():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    assert train.accuracy(logits, labels) == pytest.approx(2 / 3)
    assert train.accuracy(logits.argmax(1), labels) == pytest.approx(2 / 3)


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="one prediction per label"):
        train.accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 1]))


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    predictions = torch.tensor([0, 1, 1, 2, 2])
    labels = torch.tensor([0, 1, 2, 2, 2])
    expected = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 1, 2]])
    assert torch.equal(train.confusion_matrix(predictions, labels, 3), expected)


def test_confusion_matrix_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        train.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 2]), 2)


def test_make_loader_shuffles_the_same_way_for_the_same_seed():
    x, y = _blobs()
    first = next(iter(train.make_loader((x, y), 16, seed=3)))[1]
    second = next(iter(train.make_loader((x, y), 16, seed=3)))[1]
    assert torch.equal(first, second)


def test_make_loader_rejects_inputs_and_labels_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        train.make_loader((torch.zeros(3, 2), torch.zeros(4)))


def test_fit_learns_separable_blobs_and_records_history():
    nodelib.seed_everything(0)
    x, y = _blobs()
    model = torch.nn.Linear(2, 2)
    loader = train.make_loader((x, y), 32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    history = train.fit(model, loader, optimizer, 5, test_loader=loader, progress=False)
    assert len(history.train_loss) == len(history.test_accuracy) == 5
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_accuracy[-1] > 0.95


def test_evaluate_leaves_the_parameters_unchanged():
    x, y = _blobs()
    model = torch.nn.Linear(2, 2)
    before = [p.clone() for p in model.parameters()]
    scores = train.evaluate(model, train.make_loader((x, y), 50, shuffle=False))
    assert set(scores) == {"loss", "accuracy"}
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_train_epoch_rejects_an_empty_loader():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        train.train_epoch(model, [], optimizer)


def test_fit_regression_reduces_the_error():
    nodelib.seed_everything(0)
    x = torch.linspace(-1, 1, 50).unsqueeze(1)
    losses = train.fit_regression(torch.nn.Linear(1, 1), x, 3 * x + 1, steps=300, lr=0.05)
    assert losses[-1] < 1e-3 < losses[0]
