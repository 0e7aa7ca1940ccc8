"""The networks of chapters 2 and 3 (home chapters: 2. CNNs, 3. ResNets).

- :func:`deep_sigmoid_mlp` and :func:`gradient_norms_per_layer`: why deep
  fully-connected networks are hard to train (vanishing gradients);
  :func:`deep_sigmoid_cnn` (fewer parameters do not cure them) and
  :func:`deep_relu_mlp` (ReLU with He initialisation does);
- :class:`SmallCNN`: conv -> pool -> conv -> pool -> fully connected -> |J| outputs;
- :class:`ResidualBlock` (convolutional, identity or projection shortcut) and
  :class:`DeepNet` (a deep fully-connected network built from plain or residual
  blocks, for the degradation experiment);
- :func:`one_hidden_layer_net`: the network of the universal approximation theorem.
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Number of trainable numbers (weights and biases) in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --- vanishing gradients -------------------------------------------------------------------


def deep_sigmoid_mlp(
    depth: int, width: int = 32, in_features: int = 784, num_classes: int = 10
) -> nn.Sequential:
    """A fully-connected network with ``depth`` hidden sigmoid layers of ``width`` neurons.

    Input (batch, in_features) or images (batch, 1, 28, 28), which are flattened;
    output (batch, num_classes) logits. Layer ``k`` of the returned Sequential
    is ``Linear`` for even ``k``; :func:`gradient_norms_per_layer` reads their gradients.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1 hidden layer, got {depth}")
    layers: list[nn.Module] = [nn.Flatten()]
    features = in_features
    for _ in range(depth):
        layers += [nn.Linear(features, width), nn.Sigmoid()]
        features = width
    layers.append(nn.Linear(features, num_classes))
    return nn.Sequential(*layers)


def deep_sigmoid_cnn(depth: int, channels: int = 8, num_classes: int = 10) -> nn.Sequential:
    """``depth`` sigmoid convolutional layers ``C(28x28, 3x3, channels)``, then a linear read-out.

    Each layer is a 3x3 convolution with padding 1 (the maps stay 28x28) and a sigmoid;
    the last maps are averaged over all positions and a ``Linear(channels, num_classes)``
    gives the logits. Input (batch, 1, 28, 28); output (batch, num_classes). Weight sharing
    makes it several times smaller than :func:`deep_sigmoid_mlp` of the same depth - the
    chapter measures whether that helps its gradients.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1 convolutional layer, got {depth}")
    layers: list[nn.Module] = []
    in_channels = 1
    for _ in range(depth):
        layers += [nn.Conv2d(in_channels, channels, kernel_size=3, padding=1), nn.Sigmoid()]
        in_channels = channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def deep_relu_mlp(
    depth: int, width: int = 32, in_features: int = 784, num_classes: int = 10
) -> nn.Sequential:
    """:func:`deep_sigmoid_mlp` with ReLU instead of sigmoid and He (Kaiming) initialisation.

    ReLU's slope is 1 wherever a neuron is active, and He initialisation draws each
    weight with variance ``2 / fan_in`` so that the signal keeps its size from layer to
    layer (biases start at zero). Input (batch, in_features) or (batch, 1, 28, 28);
    output (batch, num_classes) logits.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1 hidden layer, got {depth}")
    layers: list[nn.Module] = [nn.Flatten()]
    features = in_features
    for _ in range(depth):
        linear = nn.Linear(features, width)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        features = width
    layers.append(nn.Linear(features, num_classes))
    return nn.Sequential(*layers)


def gradient_norms_per_layer(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor
) -> list[float]:
    """The norm of the loss gradient with respect to each weight layer, input to output.

    Weight layers are the ``nn.Linear`` and ``nn.Conv2d`` modules, in the order
    ``model.modules()`` lists them. inputs: a batch the model accepts; labels: (batch,)
    class indices. One backward pass of the cross-entropy loss; the model's ``.grad``
    are reset before and left filled after. Returns one float per weight layer.
    """
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(inputs), labels)
    loss.backward()
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return [m.weight.grad.norm().item() for m in layers]


# --- a small convolutional classifier -------------------------------------------------------


class SmallCNN(nn.Module):
    """The image-classification pipeline: feature maps, fully-connected layers, |J| outputs.

    ``C(28x28, 5x5, c1) -> ReLU -> P(max 2x2) -> C(12x12, 5x5, c2) -> ReLU -> P(max 2x2)
    -> flatten -> Linear(c2*4*4, hidden) -> ReLU -> Linear(hidden, num_classes)``.

    Input (batch, 1, 28, 28); output (batch, num_classes) logits.
    """

    def __init__(
        self, channels: tuple[int, int] = (8, 16), hidden: int = 64, num_classes: int = 10
    ):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, kernel_size=5)  # 28 -> 24
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=5)  # 12 -> 8
        self.pool = nn.MaxPool2d(2)  # halves height and width
        self.fc = nn.Linear(c2 * 4 * 4, hidden)
        self.out = nn.Linear(hidden, num_classes)

    def feature_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate activation, by name, for looking inside the network.

        x: (batch, 1, 28, 28). Returns conv1 (batch, c1, 24, 24), pool1 (batch, c1, 12, 12),
        conv2 (batch, c2, 8, 8), pool2 (batch, c2, 4, 4), hidden (batch, hidden), logits.
        """
        maps = {}
        maps["conv1"] = torch.relu(self.conv1(x))
        maps["pool1"] = self.pool(maps["conv1"])
        maps["conv2"] = torch.relu(self.conv2(maps["pool1"]))
        maps["pool2"] = self.pool(maps["conv2"])
        maps["hidden"] = torch.relu(self.fc(maps["pool2"].flatten(start_dim=1)))
        maps["logits"] = self.out(maps["hidden"])
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(x)["logits"]


# --- residual blocks ------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """``y = relu(F(x, {W_1, W_2}) + W_s x)`` with ``F = conv3x3 -> ReLU -> conv3x3``.

    x: (batch, in_channels, h, w) -> y: (batch, out_channels, h/stride, w/stride).
    When the shapes of ``x`` and ``F(x)`` agree (same channels, stride 1) the
    shortcut is the identity and costs nothing; otherwise - or when
    ``projection=True`` - it is a learned 1x1 convolution ``W_s`` (a linear
    projection) that brings ``x`` to the shape of ``F(x)``.
    With ``residual=False`` the shortcut is dropped: the plain block ``relu(F(x))``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        projection: bool = False,
        residual: bool = True,
    ):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        shapes_differ = in_channels != out_channels or stride != 1
        if residual and (projection or shapes_differ):
            self.shortcut: nn.Module = nn.Conv2d(in_channels, out_channels, 1, stride=stride)
        else:
            self.shortcut = nn.Identity()

    def residual_branch(self, x: torch.Tensor) -> torch.Tensor:
        """``F(x)``: what the block adds to its (projected) input."""
        return self.conv2(torch.relu(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return torch.relu(self.residual_branch(x))
        return torch.relu(self.residual_branch(x) + self.shortcut(x))


class DeepNet(nn.Module):
    """A deep fully-connected network of ``num_blocks`` blocks, plain or residual.

    ``stem Linear(in_features, width) -> ReLU -> num_blocks x block -> Linear(width, num_classes)``.
    Each block has two weight layers, ``F(h) = BN(W_2 relu(BN(W_1 h)))``, and is
    plain ``h -> relu(F(h))`` or residual ``h -> relu(F(h) + h)``.
    Both variants have exactly the same parameters; only the ``+ h`` differs.
    Batch normalisation (as in He et al.'s experiments) keeps the signal at a
    healthy scale, so a failing deep plain net is not merely a vanishing signal.
    Depth counted in weight layers: ``2 * num_blocks + 2``.

    Input (batch, in_features) or images (batch, 1, 28, 28), flattened; output logits.
    """

    def __init__(
        self,
        num_blocks: int,
        *,
        residual: bool,
        width: int = 32,
        in_features: int = 784,
        num_classes: int = 10,
    ):
        super().__init__()
        if num_blocks < 0:
            raise ValueError(f"num_blocks must be >= 0, got {num_blocks}")
        self.residual = residual
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Linear(width, width),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.Linear(width, width),
                nn.BatchNorm1d(width),
            )
            for _ in range(num_blocks)
        )
        self.head = nn.Linear(width, num_classes)

    @property
    def depth(self) -> int:
        """Number of weight layers: stem, two per block, head."""
        return 2 * len(self.blocks) + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x.flatten(start_dim=1)))
        for block in self.blocks:
            h = torch.relu(block(h) + h) if self.residual else torch.relu(block(h))
        return self.head(h)


# --- universal approximation ------------------------------------------------------------------


def one_hidden_layer_net(width: int, activation: str = "tanh") -> nn.Sequential:
    """``x -> sum_i v_i sigma(w_i x + b_i) + c``: one hidden layer of ``width`` neurons.

    The network of the universal approximation theorem, for 1-D functions:
    input (batch, 1), output (batch, 1). activation: ``tanh``, ``sigmoid`` or ``relu``.
    """
    activations = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}
    if activation not in activations:
        raise ValueError(f"activation must be one of {list(activations)}, got {activation!r}")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    return nn.Sequential(nn.Linear(1, width), activations[activation](), nn.Linear(width, 1))


def count_multiply_adds(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of the ``Conv2d`` and ``Linear`` layers of ``module`` on one input.

    input_shape: the shape of one batch, e.g. (1, 16, 16, 16). Every output number
    of a convolution costs ``in_channels / groups * kernel_h * kernel_w`` multiply-adds,
    of a linear layer ``in_features``; additions of shortcuts and activations are not counted.
    """
    total = 0

    def count(layer, _inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            kernel_h, kernel_w = layer.kernel_size
            total += output.numel() * layer.in_channels // layer.groups * kernel_h * kernel_w
        else:
            total += output.numel() * layer.in_features

    hooks = [
        layer.register_forward_hook(count)
        for layer in module.modules()
        if isinstance(layer, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            module(torch.zeros(input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return total
