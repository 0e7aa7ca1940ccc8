"""The discrete adjoint recursion and the dual-problem identity of the source's §4.2.1."""

import pytest
import torch

from nodelib.discrete_adjoint import discrete_adjoint_gradient, dual_identity, forward_states

F64 = torch.float64


def test_dual_identity_holds_for_a_vector_right_hand_side():
    torch.manual_seed(0)
    A = torch.randn(5, 5, dtype=F64) + 5 * torch.eye(5, dtype=F64)
    c, g = torch.randn(5, dtype=F64), torch.randn(5, dtype=F64)
    result = dual_identity(A, c, g)
    assert result.primal.item() == pytest.approx(result.dual.item(), rel=1e-12)


def test_dual_identity_holds_column_by_column_for_a_matrix_right_hand_side():
    torch.manual_seed(1)
    A = torch.randn(4, 4, dtype=F64) + 4 * torch.eye(4, dtype=F64)
    C, g = torch.randn(4, 6, dtype=F64), torch.randn(4, dtype=F64)
    result = dual_identity(A, C, g)
    assert result.primal.shape == (6,)
    assert torch.allclose(result.primal, result.dual, rtol=1e-12, atol=1e-12)
    assert result.s.shape == (4,)  # one dual solve serves all six columns


def test_dual_identity_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match="A must be a square matrix"):
        dual_identity(torch.ones(2, 3), torch.ones(2), torch.ones(2))


def resnet_like_step(i, q, u):
    """q_(i+1) = q_i + 0.1 tanh(u q_i + i/10): a residual block with shared weights u."""
    return q + 0.1 * torch.tanh(u @ q + i / 10)


def loss_on_every_state(states, u):
    return sum((k + 1) * q.square().sum() for k, q in enumerate(states)) + 0.01 * u.square().sum()


def test_backward_recursion_gives_the_same_gradient_as_autograd():
    torch.manual_seed(2)
    q0, u = torch.randn(3, dtype=F64), torch.randn(3, 3, dtype=F64)
    result = discrete_adjoint_gradient(resnet_like_step, q0, u, 6, loss_on_every_state)

    u_leaf = u.clone().requires_grad_(True)
    states, q = [], q0
    for i in range(6):
        q = resnet_like_step(i, q, u_leaf)
        states.append(q)
    (expected,) = torch.autograd.grad(loss_on_every_state(states, u_leaf), u_leaf)
    assert torch.allclose(result.grad_u, expected, rtol=1e-12, atol=1e-14)


def test_last_adjoint_state_is_the_loss_gradient_at_the_last_state():
    torch.manual_seed(3)
    q0, u = torch.randn(3, dtype=F64), torch.randn(3, 3, dtype=F64)
    result = discrete_adjoint_gradient(resnet_like_step, q0, u, 4, loss_on_every_state)
    assert len(result.adjoints) == 4 and len(result.states) == 5
    assert torch.allclose(result.adjoints[-1], 2 * 4 * result.states[-1])


def test_forward_states_apply_the_steps_in_order():
    states = forward_states(lambda i, q, u: q * u + i, torch.tensor(1.0), torch.tensor(2.0), 3)
    assert [s.item() for s in states] == [1.0, 2.0, 5.0, 12.0]
