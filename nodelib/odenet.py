"""ODE-Nets for images: a ResNet whose residual blocks become one ODE block.

Home chapter: 8 (handwritten images with an ODE-Net). Every model here has the
same three parts, so that they differ only where it matters::

    image (B, 1, 28, 28)
      -> downsampling convolutions      -> features h(0): (B, C, 7, 7)
      -> middle block                   -> features h(T): (B, C, 7, 7)
      -> average pooling + linear layer -> logits (B, 10)

and the middle block is

- ``odenet``: one ODE block, dh/dt = f(t, h) solved from t = 0 to T, where f is
  a small CNN (two 3×3 convolutions with a ReLU between them);
- ``resnet``: N residual blocks h <- h + f_k(h), each with its own small CNN;
- ``cnn``: nothing at all (the same network with the middle block removed).

:func:`source_odenet` re-implements the network of the course's source review
(BatchNorm, time as an extra channel, 64 channels at 6×6, fixed-step Euler with
h = 0.05 on [0, 1], adjoint gradients) so that the speed of our design can be
measured against it side by side (``benchmarks/odenet.py``).

:class:`CountedDynamics` wraps any dynamics function and counts how often it is
evaluated in the forward pass and differentiated in the backward pass (the
NFE, number of function evaluations).
"""

from __future__ import annotations

import torch
from torch import nn

#: The models :func:`build_model` knows.
MODELS = ("odenet", "chen_odenet", "resnet", "resnet_shared", "cnn", "source_odenet")
#: How the gradient of the ODE block is computed.
GRADIENTS = ("backprop", "adjoint")
#: Solvers with a fixed step (they need ``step_size``) and adaptive ones (``rtol``/``atol``).
FIXED_STEP_SOLVERS = ("euler", "midpoint", "rk4", "rk4_38")
ADAPTIVE_SOLVERS = ("dopri5",)
SOLVERS = FIXED_STEP_SOLVERS + ADAPTIVE_SOLVERS
#: The head averages each channel's 7×7 map down to 3×3 (not to 1×1): where in the
#: image a feature sits matters for clothes (a sleeve's end, a collar); keeping a
#: coarse 3×3 layout costs 5 k parameters and raised Fashion-MNIST test accuracy after
#: one epoch from 81.4 % to 86.2 % in our measurement.
POOLED_SIZE = 3

#: The course's default ODE-Net, chosen by measurement (chapter 8, benchmarks/odenet.py):
#: one classical Runge-Kutta step over [0, 1] = 4 evaluations of f per forward pass,
#: gradients by backpropagation through the solver's operations.
DEFAULTS = {
    "channels": 64,
    "end_time": 1.0,
    "solver": "rk4",
    "step_size": 1.0,
    "rtol": 1e-3,
    "atol": 1e-3,
    "gradient": "backprop",
    "residual_blocks": 4,
}

#: What the source review reports for its ODE-Net on MNIST (Capell et al. 2023, section
#: 4.3.1: 5 epochs, explicit Euler, Adam). Reported, not measured by this course: chapter 8
#: shows them beside our measurements and says which data set those used.
SOURCE_REPORTED_MNIST = {
    "dataset": "mnist",
    "epochs": 5,
    "accuracy_before_training": 0.10280,
    "test_accuracy": 0.99230,
    "minutes_per_epoch": 11.52,
}

#: Chen et al. (2018)'s ODE-Net solved with dopri5 and trained with the adjoint; the
#: tolerance is the default of the authors' published MNIST example (torchdiffeq's
#: examples/odenet_mnist.py, ``--tol 1e-3``, used for both rtol and atol).
CHEN_SETTINGS = {"solver": "dopri5", "rtol": 1e-3, "atol": 1e-3, "gradient": "adjoint"}

#: What each model is, in a few words (tables and legends of chapter 8).
MODEL_LABELS = {
    "odenet": "RK4-Net: ODE-Net with one RK4 step, backprop",
    "chen_odenet": "ODE-Net: dopri5 + adjoint (Chen et al.)",
    "resnet": "ResNet: 4 residual blocks",
    "resnet_shared": "Weight-tied ResNet: 1 block applied 4 times",
    "cnn": "CNN without a middle block",
    "source_odenet": "The source's ODE-Net: 20 Euler steps + adjoint",
}

#: How the chapters name the data sets in prose.
DATASET_NAMES = {
    "mnist": "MNIST (handwritten digits)",
    "fashion-mnist": "Fashion-MNIST (photographs of clothes)",
}


# --------------------------------------------------------------------------------------
# Solving: nodelib's solvers when they are there, torchdiffeq otherwise
# --------------------------------------------------------------------------------------


def solve_ode(func, h0, t, *, solver, step_size=None, rtol=1e-3, atol=1e-3, gradient="backprop"):
    """Solve dh/dt = func(t, h) from t[0] to t[-1]; return h at every time of ``t``.

    h0: (B, C, H, W) initial features; t: 1-D increasing times.
    Returns (len(t), B, C, H, W). ``gradient="adjoint"`` differentiates by solving the
    adjoint ODE backwards (memory independent of the number of steps, chapter 6);
    ``"backprop"`` lets autograd record every solver operation (memory grows with the
    steps, but no second solve).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
    if solver in FIXED_STEP_SOLVERS and (step_size is None or step_size <= 0):
        raise ValueError(
            f"solver {solver!r} takes a fixed step: step_size must be > 0, got {step_size!r}"
        )
    import nodelib

    if hasattr(nodelib, "odeint") and hasattr(nodelib, "odeint_adjoint"):
        solve = nodelib.odeint_adjoint if gradient == "adjoint" else nodelib.odeint
        kwargs = {"method": solver, "rtol": rtol, "atol": atol}
        if solver in FIXED_STEP_SOLVERS:
            kwargs["step_size"] = step_size
        return solve(func, h0, t, **kwargs)
    # Fallback while nodelib's numerics are not installed: torchdiffeq, same semantics.
    import torchdiffeq

    solve = torchdiffeq.odeint_adjoint if gradient == "adjoint" else torchdiffeq.odeint
    options = {"step_size": step_size} if solver in FIXED_STEP_SOLVERS else None
    name = {"rk4_38": "rk4"}.get(solver, solver)
    return solve(func, h0, t, method=name, rtol=rtol, atol=atol, options=options)


# --------------------------------------------------------------------------------------
# Counting function evaluations
# --------------------------------------------------------------------------------------


class CountedDynamics(nn.Module):
    """Wrap dynamics ``f(t, h)`` and count how often it is evaluated and differentiated.

    - ``evaluations``: calls of ``f``;
    - ``vjps``: vector-Jacobian products a^T ∂f/∂h taken by autograd (one per
      evaluation that a gradient flows through).

    The forward NFE of a training step is ``evaluations`` read right after the
    forward pass; the backward NFE is ``vjps`` read after ``.backward()``. With the
    adjoint method the backward VJPs are the evaluations of the reverse-time solve;
    with backpropagation through the solver every recorded evaluation is
    differentiated once, so backward NFE = forward NFE.
    """

    def __init__(self, func: nn.Module):
        super().__init__()
        self.func = func
        self.evaluations = 0
        self.vjps = 0

    def reset(self) -> None:
        """Set both counts to zero (call before a forward pass)."""
        self.evaluations = 0
        self.vjps = 0

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        self.evaluations += 1
        out = self.func(t, h)
        if out.requires_grad:
            out.register_hook(self._count_vjp)
        return out

    def _count_vjp(self, grad: torch.Tensor) -> None:
        self.vjps += 1


# --------------------------------------------------------------------------------------
# The parts
# --------------------------------------------------------------------------------------


def _norm(kind: str, channels: int) -> nn.Module:
    """A normalisation layer: ``group`` (statistics per image), ``batch`` or ``none``."""
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'group', 'batch' or 'none', got {kind!r}")


def downsampling(channels: int = DEFAULTS["channels"]) -> nn.Sequential:
    """Two strided 4×4 convolutions: (B, 1, 28, 28) -> (B, C, 14, 14) -> (B, C, 7, 7).

    Shrinking the image to 7×7 *before* the ODE block is the main speed decision:
    every evaluation of the dynamics then touches 49 pixels per channel instead of 784.
    Each output size follows (n + 2·padding - kernel) / stride + 1 = (28 + 2 - 4) / 2 + 1 = 14.
    """
    half = channels // 2
    return nn.Sequential(
        nn.Conv2d(1, half, kernel_size=4, stride=2, padding=1),
        _norm("group", half),
        nn.ReLU(),
        nn.Conv2d(half, channels, kernel_size=4, stride=2, padding=1),
        _norm("group", channels),
        nn.ReLU(),
    )


def classifier_head(channels: int, classes: int = 10, pooled: int = POOLED_SIZE) -> nn.Sequential:
    """Average-pool each channel to a ``pooled``×``pooled`` grid, then one linear layer.

    (B, C, H, W) -> (B, C, pooled, pooled) -> (B, C·pooled²) -> logits (B, classes).
    The softmax is left to the loss (``cross_entropy`` takes logits).
    """
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(pooled),
        nn.Flatten(),
        nn.Linear(channels * pooled * pooled, classes),
    )


class ConvDynamics(nn.Module):
    """The dynamics f(t, h): a small CNN, conv 3×3 -> (norm) -> ReLU -> conv 3×3.

    h: (B, C, H, W) -> dh/dt: (B, C, H, W); padding 1 keeps H and W.

    ``norm`` (default ``none``): an ODE's right-hand side should be one fixed
    function of (t, h). BatchNorm breaks that twice: f of one image depends on the
    other images of the batch, and f changes between training and evaluation.
    GroupNorm (per image) is a valid choice, but in our measurement it made the
    dynamics slower and trained worse (88.0 % vs 89.2 % Fashion-MNIST test accuracy
    after two epochs), so the course normalises only in the downsampling, which
    keeps h(0) at a steady scale. ``time_channel`` (default off): with one fixed
    rk4 step over [0, 1] the extra input channel t buys little and costs one more
    input channel per convolution, so the course's dynamics are autonomous,
    dh/dt = f(h), like a ResNet whose blocks share their weights.
    """

    def __init__(self, channels: int, *, norm: str = "none", time_channel: bool = False):
        super().__init__()
        extra = 1 if time_channel else 0
        self.time_channel = time_channel
        self.conv1 = nn.Conv2d(channels + extra, channels, kernel_size=3, padding=1)
        self.norm1 = _norm(norm, channels)
        self.conv2 = nn.Conv2d(channels + extra, channels, kernel_size=3, padding=1)

    def _with_time(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        if not self.time_channel:
            return h
        t_plane = torch.as_tensor(t, dtype=h.dtype).expand(h.shape[0], 1, *h.shape[2:])
        return torch.cat([h, t_plane], dim=1)

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.norm1(self.conv1(self._with_time(t, h))))
        return self.conv2(self._with_time(t, z))


class ODEBlock(nn.Module):
    """h(T) = h(0) + ∫_0^T f(t, h(t)) dt, computed by an ODE solver.

    h: (B, C, H, W) -> (B, C, H, W). The solver settings are attributes, so a
    trained block can be re-solved with another solver (chapter 8 does this to
    measure how hard the learned dynamics are to integrate).
    """

    def __init__(
        self,
        dynamics: nn.Module,
        *,
        end_time: float = DEFAULTS["end_time"],
        solver: str = DEFAULTS["solver"],
        step_size: float | None = DEFAULTS["step_size"],
        rtol: float = DEFAULTS["rtol"],
        atol: float = DEFAULTS["atol"],
        gradient: str = DEFAULTS["gradient"],
    ):
        super().__init__()
        if end_time <= 0:
            raise ValueError(f"end_time must be > 0, got {end_time!r}")
        self.dynamics = CountedDynamics(dynamics)
        self.end_time = float(end_time)
        self.solver, self.step_size = solver, step_size
        self.rtol, self.atol, self.gradient = rtol, atol, gradient
        # Check the settings now rather than at the first batch.
        solve_ode(
            lambda t, h: h, torch.zeros(1), torch.tensor([0.0, 1e-3]), solver=solver,
            step_size=None if step_size is None else min(step_size, 1e-3),
            rtol=rtol, atol=atol, gradient="backprop",
        )  # fmt: skip

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        t = torch.tensor([0.0, self.end_time], dtype=h.dtype, device=h.device)
        trajectory = solve_ode(
            self.dynamics, h, t, solver=self.solver, step_size=self.step_size,
            rtol=self.rtol, atol=self.atol, gradient=self.gradient,
        )  # fmt: skip
        return trajectory[-1]


class ResidualBlock(nn.Module):
    """h -> h + f(h): one Euler step of size 1 with its own dynamics (chapter 4)."""

    def __init__(self, channels: int, *, norm: str = "none"):
        super().__init__()
        self.residual = CountedDynamics(ConvDynamics(channels, norm=norm))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.residual(torch.zeros(()), h)


class WeightTiedResidualBlocks(nn.Module):
    """One residual block applied ``repeats`` times: h -> h + f(h), again and again.

    The same parameters as an ODE block with autonomous dynamics f, and the same
    computation as ``repeats`` Euler steps of size 1 on dh/dt = f(h). Chapter 8 trains
    it to separate what weight tying buys from what continuous depth buys.
    """

    def __init__(self, channels: int, repeats: int):
        super().__init__()
        self.block = ResidualBlock(channels)
        self.repeats = repeats

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for _ in range(self.repeats):
            h = self.block(h)
        return h


class ImageClassifier(nn.Module):
    """downsampling -> middle block -> pooling + linear; (B, 1, 28, 28) -> logits (B, 10)."""

    def __init__(self, downsample: nn.Module, middle: nn.Module, head: nn.Module, name: str):
        super().__init__()
        self.downsample, self.middle, self.head = downsample, middle, head
        self.name = name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.middle(self.downsample(images)))

    def counters(self) -> list[CountedDynamics]:
        """Every counted dynamics function in the model (none for the plain CNN)."""
        return [m for m in self.modules() if isinstance(m, CountedDynamics)]

    def reset_nfe(self) -> None:
        for counter in self.counters():
            counter.reset()

    def nfe(self) -> tuple[int, int]:
        """(evaluations, vector-Jacobian products) of all dynamics since :meth:`reset_nfe`."""
        counters = self.counters()
        return sum(c.evaluations for c in counters), sum(c.vjps for c in counters)


# --------------------------------------------------------------------------------------
# The source's network, re-implemented for the speed comparison
# --------------------------------------------------------------------------------------


def source_downsampling(channels: int = 64) -> nn.Sequential:
    """The source's downsampling: 3×3 conv then two strided 4×4 convs, 28 -> 26 -> 13 -> 6."""
    return nn.Sequential(
        nn.Conv2d(1, channels, kernel_size=3),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.Conv2d(channels, channels, kernel_size=4, stride=2, padding=1),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.Conv2d(channels, channels, kernel_size=4, stride=2, padding=1),
    )


def source_odenet(channels: int = 64) -> ImageClassifier:
    """The source review's ODE-Net: 64 channels at 6×6, BatchNorm, time concatenated,
    fixed-step Euler with h = 0.05 on [0, 1] (20 steps), gradients by the adjoint."""
    dynamics = ConvDynamics(channels, norm="batch", time_channel=True)
    block = ODEBlock(dynamics, end_time=1.0, solver="euler", step_size=0.05, gradient="adjoint")
    head = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), classifier_head(channels, pooled=1))
    return ImageClassifier(source_downsampling(channels), block, head, name="source_odenet")


# --------------------------------------------------------------------------------------
# Building a model by name
# --------------------------------------------------------------------------------------


def build_model(
    name: str,
    *,
    channels: int = DEFAULTS["channels"],
    solver: str = DEFAULTS["solver"],
    step_size: float | None = DEFAULTS["step_size"],
    rtol: float = DEFAULTS["rtol"],
    atol: float = DEFAULTS["atol"],
    gradient: str = DEFAULTS["gradient"],
    end_time: float = DEFAULTS["end_time"],
    residual_blocks: int = DEFAULTS["residual_blocks"],
) -> ImageClassifier:
    """One of :data:`MODELS`, built from the shared parts.

    The solver settings only matter for ``odenet``; ``chen_odenet`` is ``odenet`` with
    :data:`CHEN_SETTINGS` (dopri5, adjoint) instead; ``residual_blocks`` is the number of
    blocks of ``resnet`` and the number of repeats of ``resnet_shared``.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    if not isinstance(channels, int) or channels < 2 or channels % 2:
        raise ValueError(f"channels must be an even int >= 2, got {channels!r}")
    if name == "source_odenet":
        return source_odenet(channels)
    if name == "chen_odenet":
        middle = ODEBlock(ConvDynamics(channels), end_time=end_time, **CHEN_SETTINGS)
    elif name == "odenet":
        middle = ODEBlock(
            ConvDynamics(channels), end_time=end_time, solver=solver, step_size=step_size,
            rtol=rtol, atol=atol, gradient=gradient,
        )  # fmt: skip
    elif name in ("resnet", "resnet_shared"):
        if not isinstance(residual_blocks, int) or residual_blocks < 1:
            raise ValueError(f"residual_blocks must be an int >= 1, got {residual_blocks!r}")
        if name == "resnet":
            middle = nn.Sequential(*[ResidualBlock(channels) for _ in range(residual_blocks)])
        else:
            middle = WeightTiedResidualBlocks(channels, residual_blocks)
    else:
        middle = nn.Identity()
    return ImageClassifier(downsampling(channels), middle, classifier_head(channels), name=name)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bytes_saved_for_backward(model: nn.Module, forward) -> int:
    """Bytes of tensors autograd keeps for the backward pass of ``forward()``.

    ``forward`` is a function of no arguments that runs ``model`` and returns a
    tensor. Measured with ``torch.autograd.graph.saved_tensors_hooks``: a tensor
    saved twice is counted once, ``model``'s parameters not at all. Sizes are those
    of the saved tensors themselves (a slice of a big data set counts as the slice,
    not as the whole storage behind it).
    """
    parameters = {(p.data_ptr(), tuple(p.shape)) for p in model.parameters()}
    seen: dict[tuple, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key = (tensor.data_ptr(), tuple(tensor.shape), tensor.dtype)
        if key[:2] not in parameters:
            seen[key] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = forward()
    del output  # frees the graph, and with it the saved tensors
    return sum(seen.values())


def saved_activation_bytes(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> int:
    """Bytes autograd keeps for the backward pass of one batch through the whole model.

    This is the memory that grows with depth in a ResNet: every layer saves its
    input. See :func:`bytes_saved_for_backward` for what is counted.
    """
    return bytes_saved_for_backward(
        model, lambda: nn.functional.cross_entropy(model(images), labels)
    )


def block_activation_bytes(model: ImageClassifier, images: torch.Tensor) -> int:
    """Bytes autograd keeps for the *middle block alone* (ODE block or residual blocks).

    The downsampling's activations are the same for every model, so leaving them
    out shows how the middle block's memory depends on its depth.
    """
    with torch.no_grad():
        h0 = model.downsample(images)
    h0.requires_grad_(True)
    return bytes_saved_for_backward(model, lambda: model.middle(h0).sum())


# --------------------------------------------------------------------------------------
# Looking inside a trained ODE-Net
# --------------------------------------------------------------------------------------


def solver_backend() -> str:
    """Which library solves the ODE block: ``nodelib`` (chapter 5) or ``torchdiffeq``."""
    import nodelib

    has_solvers = hasattr(nodelib, "odeint") and hasattr(nodelib, "odeint_adjoint")
    return "nodelib" if has_solvers else "torchdiffeq"


def adaptive_nfe(
    model: ImageClassifier, images, labels, *, rtol: float = 1e-3, atol: float = 1e-3
) -> tuple[int, int]:
    """How hard the ODE-Net's *current* dynamics are to solve: (forward NFE, backward NFE).

    Solves the model's ODE block with the adaptive dopri5 at (rtol, atol) and
    differentiates with the adjoint, on one batch, without changing the model (the
    gradient is computed but not stored, the solver settings are restored). As
    training makes f more complicated, the adaptive solver needs more steps
    (Chen et al., 2018).
    """
    block = model.middle
    if not isinstance(block, ODEBlock):
        raise ValueError(f"adaptive_nfe needs a model with an ODE block, got {model.name!r}")
    saved = (block.solver, block.step_size, block.rtol, block.atol, block.gradient)
    was_training = model.training
    try:
        block.solver, block.step_size, block.rtol, block.atol = "dopri5", None, rtol, atol
        block.gradient = "adjoint"
        model.eval()  # no BatchNorm statistics may change during the probe
        model.reset_nfe()
        loss = nn.functional.cross_entropy(model(images), labels)
        forward = model.nfe()[0]
        torch.autograd.grad(loss, [p for p in block.parameters() if p.requires_grad])
        return forward, model.nfe()[1]
    finally:
        block.solver, block.step_size, block.rtol, block.atol, block.gradient = saved
        model.train(was_training)


@torch.no_grad()
def feature_trajectory(model: ImageClassifier, images: torch.Tensor, times) -> torch.Tensor:
    """h(t) of the ODE block at ``times`` (1-D, from 0 to T), solved accurately by dopri5.

    images: (B, 1, 28, 28) -> (len(times), B, C, 7, 7).
    """
    block = model.middle
    if not isinstance(block, ODEBlock):
        raise ValueError(f"feature_trajectory needs an ODE-Net, got {model.name!r}")
    model.eval()
    h0 = model.downsample(images)
    t = torch.as_tensor(times, dtype=h0.dtype)
    return solve_ode(block.dynamics, h0, t, solver="dopri5", rtol=1e-5, atol=1e-6)
