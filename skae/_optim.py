"""Keras optimizer updates as a few fused torch calls.

``keras.optimizers.Optimizer.apply`` is general (schedules, EMA, gradient
accumulation, loss scaling) and pays for that generality on every step.
:func:`make_step` returns a function doing the same update as
``optimizer.apply(grads, variables)`` for the common cases (Adam, AdamW, SGD,
RMSprop, Nadam, Adagrad, Adamax, Adadelta and Lion with constant learning rate,
optional ``clipnorm`` and weight decay), with ``torch._foreach_*`` calls on the
optimizer's own state variables: the Keras optimizer stays the owner of its
state (its iteration count, momentums and velocities), so callbacks, pickling
and a later Keras ``fit`` see the same optimizer. Every other configuration
gets ``optimizer.apply`` itself.

The learning rate is read from the optimizer when :meth:`Step.sync` is called
(once per epoch), so ``ReduceLROnPlateau`` and ``LearningRateScheduler``
changes take effect from the next epoch, as in Keras's own loop.
"""

import math

import torch

from ._backend import keras, to_float

__all__ = ["make_step"]


def _learning_rate(optimizer):
    return to_float(optimizer.learning_rate)


def _fast_kind(optimizer):
    """Which fused update applies to ``optimizer``, or None."""
    if (
        optimizer.use_ema
        or optimizer.gradient_accumulation_steps
        or optimizer.clipvalue is not None
        or optimizer.global_clipnorm is not None
        or optimizer.loss_scale_factor is not None
        or isinstance(
            optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule
        )
    ):
        return None
    # Exact Keras classes only: a subclass may change the update.
    module = type(optimizer).__module__
    if not module.startswith("keras.src.backend.torch.optimizers"):
        return None
    name = type(optimizer).__name__
    if name in ("Adam", "AdamW") and not optimizer.amsgrad:
        return "adam"
    if name == "SGD":
        return "sgd"
    if name == "RMSprop" and not optimizer.centered:
        return "rmsprop"
    if name in ("Nadam", "Adagrad", "Adamax", "Adadelta", "Lion"):
        return name.lower()
    return None


#: Per-variable state lists of the optimizers whose slots do not depend on options.
_SLOTS = {
    "adam": ("_momentums", "_velocities"),
    "nadam": ("_momentums", "_velocities"),
    "adagrad": ("_accumulators",),
    "adamax": ("_m", "_u"),
    "adadelta": ("_accumulated_grads", "_accumulated_delta_vars"),
    "lion": ("_momentums",),
}


class Step:
    """``step(grads)`` applies one update; ``sync()`` re-reads the learning rate.

    Attributes
    ----------
    fused : bool
        True for the fused torch update, False when ``optimizer.apply`` runs.
    """

    def __init__(self, optimizer, variables):
        self.optimizer = optimizer
        self.variables = list(variables)
        if not optimizer.built:
            optimizer.build(self.variables)
        self._kind = _fast_kind(optimizer)
        self.fused = self._kind is not None
        self.params = [v.value for v in self.variables]
        if not self.fused:
            return
        index = [optimizer._get_variable_index(v) for v in self.variables]
        self._state = [
            [getattr(optimizer, slot)[i].value for i in index]
            for slot in self._slots(optimizer)
        ]
        self._decayed = (
            [v.value for v in self.variables if optimizer._use_weight_decay(v)]
            if optimizer.weight_decay
            else []
        )
        self._iterations = optimizer.iterations.value
        self._t = int(to_float(self._iterations))
        if self._kind == "nadam":  # the running product of the momentum schedule
            self._u_product = optimizer._u_product.value
            self._u_product_value = self._u_product.detach().to("cpu").clone()
        self.sync()

    def _slots(self, optimizer):
        """Names of the optimizer's per-variable state lists the update uses."""
        if self._kind in _SLOTS:
            return _SLOTS[self._kind]
        if self._kind == "sgd":
            return ("momentums",) if optimizer.momentum != 0 else ()
        return ("_velocities",) + (("_momentums",) if optimizer.momentum > 0 else ())

    def sync(self):
        """Read the learning rate (it may have been changed by a callback)."""
        if self.fused:
            self._lr = _learning_rate(self.optimizer)

    def __call__(self, grads):
        if not self.fused:
            self.optimizer.apply(grads, self.variables)
            return
        opt, lr, params = self.optimizer, self._lr, self.params
        if opt.clipnorm:
            # Keras clips each gradient to its own norm: g * c / max(|g|, c).
            norms = torch._foreach_norm(grads)
            scales = [opt.clipnorm / torch.clamp(n, min=opt.clipnorm) for n in norms]
            grads = torch._foreach_mul(grads, scales)
        if self._decayed:
            torch._foreach_mul_(self._decayed, 1.0 - opt.weight_decay * lr)
        self._t += 1
        getattr(self, f"_{self._kind}")(grads, params, lr)
        self._iterations.add_(1)

    def _adam(self, grads, params, lr):
        opt, (m, v) = self.optimizer, self._state
        b1, b2, t = opt.beta_1, opt.beta_2, self._t
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, grads, alpha=1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_add_(v, torch._foreach_mul(grads, grads), alpha=1 - b2)
        denominators = torch._foreach_sqrt(v)
        torch._foreach_add_(denominators, opt.epsilon)
        torch._foreach_addcdiv_(params, m, denominators, value=-alpha)

    def _sgd(self, grads, params, lr):
        opt = self.optimizer
        if opt.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        (buffers,) = self._state
        torch._foreach_mul_(buffers, opt.momentum)
        torch._foreach_add_(buffers, grads, alpha=-lr)
        if opt.nesterov:
            torch._foreach_add_(params, grads, alpha=-lr)
            torch._foreach_add_(params, buffers, alpha=opt.momentum)
        else:
            torch._foreach_add_(params, buffers)

    def _rmsprop(self, grads, params, lr):
        opt, velocities = self.optimizer, self._state[0]
        torch._foreach_mul_(velocities, opt.rho)
        torch._foreach_add_(
            velocities, torch._foreach_mul(grads, grads), alpha=1 - opt.rho
        )
        denominators = torch._foreach_add(velocities, opt.epsilon)
        torch._foreach_sqrt_(denominators)
        increments = torch._foreach_div(torch._foreach_mul(grads, lr), denominators)
        if opt.momentum > 0:
            momentums = self._state[1]
            torch._foreach_mul_(momentums, opt.momentum)
            torch._foreach_add_(momentums, increments)
            torch._foreach_add_(params, momentums, alpha=-1)
        else:
            torch._foreach_add_(params, increments, alpha=-1)

    # The updates below follow Keras's own torch ``_parallel_update_step``.

    def _nadam(self, grads, params, lr):
        # The momentum schedule's scalars in float32, as Keras computes them.
        opt, (m, v) = self.optimizer, self._state
        f32 = torch.float32
        t, decay = torch.tensor(self._t, dtype=f32), torch.tensor(0.96, dtype=f32)
        beta_1, beta_2 = torch.tensor(opt.beta_1, dtype=f32), opt.beta_2
        u_t = beta_1 * (1.0 - 0.5 * decay**t)
        u_t_1 = beta_1 * (1.0 - 0.5 * decay ** (t + 1))
        u_product_t = self._u_product_value * u_t
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = torch.tensor(beta_2, dtype=f32) ** t
        self._u_product_value = u_product_t
        self._u_product.copy_(u_product_t)
        torch._foreach_mul_(m, opt.beta_1)
        torch._foreach_add_(m, grads, alpha=1 - opt.beta_1)
        torch._foreach_mul_(v, beta_2)
        torch._foreach_add_(v, torch._foreach_mul(grads, grads), alpha=1 - beta_2)
        m_hat = torch._foreach_add(
            torch._foreach_div(
                torch._foreach_mul(m, u_t_1.item()), (1 - u_product_t_1).item()
            ),
            torch._foreach_div(
                torch._foreach_mul(grads, (1 - u_t).item()), (1 - u_product_t).item()
            ),
        )
        v_hat = torch._foreach_div(v, (1 - beta_2_power).item())
        denominators = torch._foreach_add(torch._foreach_sqrt(v_hat), opt.epsilon)
        increments = torch._foreach_div(torch._foreach_mul(m_hat, lr), denominators)
        torch._foreach_add_(params, increments, alpha=-1)

    def _adagrad(self, grads, params, lr):
        opt, (accumulators,) = self.optimizer, self._state
        torch._foreach_add_(accumulators, torch._foreach_mul(grads, grads))
        denominators = torch._foreach_sqrt(
            torch._foreach_add(accumulators, opt.epsilon)
        )
        increments = torch._foreach_div(torch._foreach_mul(grads, lr), denominators)
        torch._foreach_add_(params, increments, alpha=-1)

    def _adamax(self, grads, params, lr):
        opt, (m, u) = self.optimizer, self._state
        correction = 1 - opt.beta_1**self._t
        torch._foreach_mul_(m, opt.beta_1)
        torch._foreach_add_(m, grads, alpha=1 - opt.beta_1)
        torch._foreach_mul_(u, opt.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominators = torch._foreach_mul(
            torch._foreach_add(u, opt.epsilon), correction
        )
        increments = torch._foreach_div(torch._foreach_mul(m, lr), denominators)
        torch._foreach_add_(params, increments, alpha=-1)

    def _adadelta(self, grads, params, lr):
        opt, (grad_sq, delta_sq) = self.optimizer, self._state
        rho, eps = opt.rho, opt.epsilon
        torch._foreach_mul_(grad_sq, rho)
        torch._foreach_add_(grad_sq, torch._foreach_mul(grads, grads), alpha=1 - rho)
        deltas = torch._foreach_div(
            torch._foreach_mul(
                torch._foreach_sqrt(torch._foreach_add(delta_sq, eps)), grads
            ),
            torch._foreach_sqrt(torch._foreach_add(grad_sq, eps)),
        )
        torch._foreach_mul_(deltas, -1)
        torch._foreach_mul_(delta_sq, rho)
        torch._foreach_add_(delta_sq, torch._foreach_mul(deltas, deltas), alpha=1 - rho)
        torch._foreach_add_(params, deltas, alpha=lr)

    def _lion(self, grads, params, lr):
        opt, (m,) = self.optimizer, self._state
        directions = torch._foreach_mul(m, opt.beta_1)
        torch._foreach_add_(directions, grads, alpha=1 - opt.beta_1)
        directions = [d.sign() for d in directions]
        torch._foreach_add_(params, torch._foreach_mul(directions, lr), alpha=-1)
        torch._foreach_mul_(m, opt.beta_2)
        torch._foreach_add_(m, grads, alpha=1 - opt.beta_2)


def make_step(optimizer, variables):
    """Return a :class:`Step` applying ``optimizer``'s update to ``variables``."""
    return Step(optimizer, variables)
