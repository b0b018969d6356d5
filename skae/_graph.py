"""Run a Keras functional model as direct torch calls on its own variables.

Calling a Keras model costs far more than the math it does on small networks:
every layer call goes through Keras's argument checks, name scopes and dtype
policies. :func:`compile_model` walks the functional graph once and returns a
:class:`Program` that runs the same computation with plain torch operations on
the layers' own ``torch.nn.Parameter`` objects, so training and inference
update and read exactly the weights Keras sees.

Layers whose maths is known are compiled (``Dense``, ``Activation``,
``Dropout``, ``Concatenate`` on the last axis, nested functional models and
``Sequential`` models); every other layer or operation is called through Keras
as usual, inside the same program. A compiled ``Dropout`` draws its masks
from a generator seeded once from the layer's seed generator
(:func:`_dropout_step`). A layer of one
input that defines ``direct_call(x, training)`` (torch operations on its own
variables) is called through that method, skipping Keras's call machinery;
its weight penalties still count. In an inference program (``compile_model(...,
inference=True)``), such a layer that also defines ``inference_call()`` runs
the function that method returns instead (e.g. with kernels in the layout of
:class:`_TransposedKernel`). Models that are not functional (subclassed
``keras.Model``) run as one Keras call.
"""

import torch
import torch.nn.functional as F

from ._backend import keras

__all__ = ["Program", "compile_model"]

_Functional = keras.src.models.functional.Functional

_ACTIVATIONS = {
    keras.activations.linear: None,
    keras.activations.relu: torch.relu,
    keras.activations.sigmoid: torch.sigmoid,
    keras.activations.tanh: torch.tanh,
    keras.activations.elu: F.elu,
    keras.activations.selu: F.selu,
    keras.activations.gelu: F.gelu,
    keras.activations.softplus: F.softplus,
    keras.activations.silu: F.silu,
    keras.activations.leaky_relu: lambda x: F.leaky_relu(x, 0.2),
    keras.activations.softmax: lambda x: torch.softmax(x, dim=-1),
}


#: The in-place form of the torch activations a Dense step can apply to a
#: result it wrote into a given tensor (:meth:`Program.__call__`'s ``out``).
_IN_PLACE = {
    None: lambda x: x,
    torch.relu: torch.relu_,
    torch.sigmoid: torch.sigmoid_,
    torch.tanh: torch.tanh_,
}


def _in_place(activation):
    """The in-place form of a torch activation from :func:`_torch_activation`
    (identity for None), or None where there is none."""
    try:
        return _IN_PLACE.get(activation)
    except TypeError:  # unhashable
        return None


def _is_torch(activation):
    """True for an activation :func:`_torch_activation` maps to torch (or
    None); False for one it leaves to Keras."""
    return activation is None or any(activation is f for f in _ACTIVATIONS.values())


def _torch_activation(activation):
    """The torch function for a Keras activation (None for linear)."""
    try:
        return _ACTIVATIONS[activation]
    except (KeyError, TypeError):  # unknown or unhashable: let Keras run it
        return activation


def _plain_float32(layer):
    """True when ``layer`` computes in float32 with no quantisation or LoRA."""
    return (
        getattr(layer, "compute_dtype", "float32") == "float32"
        and getattr(layer, "quantization_mode", None) is None
        and not getattr(layer, "lora_enabled", False)
        and getattr(layer, "activity_regularizer", None) is None
    )


class Program:
    """A compiled forward pass: ``program(x, training) -> output``.

    Attributes
    ----------
    compiled_layers : list of keras.Layer
        Layers run as direct torch calls.
    keras_layers : list of keras.Operation
        Layers and operations run through Keras, or through their own
        ``direct_call`` (skae's layers).
    torch_only : bool
        False when a step calls a layer or operation through Keras.
    """

    def __init__(self, steps, input_ids, output_id, compiled_layers, keras_layers):
        self._steps = steps
        self._input_ids = input_ids
        self._output_id = output_id
        self.compiled_layers = compiled_layers
        self.keras_layers = keras_layers
        #: False when a step calls a layer or operation through Keras (which
        #: may create tensors on Keras's default device); compiled layers and
        #: layers run through their own ``direct_call`` or ``inference_call``
        #: are plain torch.
        self.torch_only = all(getattr(run, "torch_only", True) for run, _, _ in steps)

    def __call__(self, x, training=False, out=None):
        """The output for ``x``; with ``out`` (inference, a tensor of the
        output's shape), written into ``out`` and ``out`` returned: a last
        Dense layer computes straight into it, anything else is copied."""
        values = dict.fromkeys(self._input_ids, x)
        last = len(self._steps) - 1
        for index, (run, arguments, output_ids) in enumerate(self._steps):
            if (
                out is not None
                and index == last
                and output_ids == [self._output_id]
                and getattr(run, "into", None) is not None
                and run.into(values, arguments, out)
            ):
                return out
            outputs = run(values, arguments, training)
            if len(output_ids) == 1:
                values[output_ids[0]] = outputs
            else:
                values.update(zip(output_ids, keras.tree.flatten(outputs), strict=True))
        result = values[self._output_id]
        if out is None:
            return result
        return out.copy_(result)

    def regularization_losses(self):
        """Weight penalties of the compiled layers, plus every loss the layers
        run through Keras added during the last call (``layer.losses``)."""
        losses = []
        for layer in self.compiled_layers:
            for variable, regularizer in (
                (
                    (getattr(layer, "kernel", None), layer.kernel_regularizer),
                    (getattr(layer, "bias", None), layer.bias_regularizer),
                )
                if isinstance(layer, keras.layers.Dense)
                else ()
            ):
                if regularizer is not None and variable is not None:
                    losses.append(_penalty(regularizer, variable.value))
        for layer in self.keras_layers:
            if isinstance(layer, keras.layers.Layer):
                losses.extend(layer.losses)
        return losses


def _penalty(regularizer, weight):
    if type(regularizer) is keras.regularizers.L2:
        return regularizer.l2 * torch.sum(weight * weight)
    return regularizer(weight)


# -------------------------------------------------------------- layer steps


def _dense_step(layer, inference=False):
    kernel = layer.kernel.value
    bias = layer.bias.value if layer.use_bias else None
    activation = _torch_activation(layer.activation)
    if inference:
        kernel = _TransposedKernel(kernel)

    def run(values, key, training):
        x = values[key]
        weight = kernel.get() if inference else kernel
        if bias is not None and x.dim() == 2:
            y = torch.addmm(bias, x, weight)
        else:
            y = torch.matmul(x, weight)
            if bias is not None:
                y = y + bias
        if inference and kernel.padded:
            y = y[..., :1].contiguous()
        return y if activation is None else activation(y)

    in_place = _in_place(activation)

    def into(values, key, out):
        """``run`` for inference, into ``out``: False where it cannot (the
        kernel's operations then differ from ``run``'s)."""
        x = values[key]
        if bias is None or x.dim() != 2 or kernel.padded or in_place is None:
            return False
        in_place(torch.addmm(bias, x, kernel.get(), out=out))
        return True

    if inference:
        run.into = into
    run.torch_only = _is_torch(activation)
    return run


class _TransposedKernel:
    """A Dense kernel stored transposed, as ``torch.nn.Linear`` stores it.

    ``get()`` returns the kernel's values as a ``(in, out)`` view of an
    ``(out, in)`` contiguous copy, refreshed whenever the kernel changes in
    place (training, ``set_weights``). On the CPU, a product with a kernel in
    this layout gives each row the same float32 result in every batch of a
    few rows or more (4 or 16 on the processors measured;
    :func:`skae._training._fewest_rows` measures it), whereas the
    ``(in, out)`` layout took another kernel for batches of fewer than ~200
    rows when the input is ~800 wide on one of them (measured with MKL,
    inputs 1 to 5,000 wide; ``tests/test_serving.py``). A one-output
    kernel gets a zero second output (``padded``): a product with one output
    column is a matrix-vector product, whose rows depend on the batch size.
    """

    def __init__(self, kernel):
        self._kernel = kernel
        self._version = None
        self._value = None
        self.padded = kernel.shape[-1] == 1

    def get(self):
        version = self._kernel._version
        if version != self._version:
            with torch.no_grad():
                weight = self._kernel.detach().t()
                if self.padded:
                    weight = torch.cat([weight, torch.zeros_like(weight)])
                self._value = weight.contiguous().t()
            self._version = version
        return self._value


def _activation_step(layer):
    activation = _torch_activation(layer.activation)

    def run(values, key, training):
        x = values[key]
        return x if activation is None else activation(x)

    run.torch_only = _is_torch(activation)
    return run


def _dropout_step(layer):
    """``Dropout`` as torch operations, with a generator of its own.

    Drawing a mask through Keras costs more than the rest of a small
    network's step (its seed generator updates a Keras variable and seeds a
    fresh ``torch.Generator`` on every call). The step seeds one generator per
    device, once, from the layer's seed generator, and draws every mask from
    it: a fit with a fixed ``random_state`` drops the same units every time,
    though not the units Keras's own call would drop.
    """
    rate, noise_shape = layer.rate, layer.noise_shape
    keep = 1.0 - rate
    generators = {}

    def generator(device):
        if device not in generators:
            seed = keras.src.random.seed_generator.draw_seed(layer.seed_generator)
            generators[device] = torch.Generator(device=device)
            generators[device].manual_seed(int(seed.sum()) & 0xFFFFFFFF)
        return generators[device]

    def run(values, key, training):
        x = values[key]
        if not training or rate <= 0:
            return x
        if rate >= 1:
            return torch.zeros_like(x)
        shape = x.shape
        if noise_shape is not None:
            shape = [
                d if n is None else n for d, n in zip(x.shape, noise_shape, strict=True)
            ]
        mask = torch.empty(shape, dtype=x.dtype, device=x.device)
        mask.bernoulli_(keep, generator=generator(x.device))
        return x * mask.div_(keep)

    return run


def _concatenate_step(layer):
    """``Concatenate`` on the last axis: ``torch.cat`` of its inputs."""

    def run(values, keys, training):
        return torch.cat([values[key] for key in keys], dim=-1)

    return run


def _last_axis_concatenation(node):
    """Input ids of a ``Concatenate`` node joining float32 rows on the last
    axis, with no other arguments; None for any other node."""
    op, args, kwargs = node.operation, node.arguments.args, node.arguments.kwargs
    if type(op) is not keras.layers.Concatenate or len(args) != 1 or kwargs:
        return None
    tensors = args[0]
    if not isinstance(tensors, (list, tuple)) or not all(
        isinstance(t, keras.KerasTensor) and t.dtype == "float32" for t in tensors
    ):
        return None
    rank = len(tensors[0].shape)
    if any(len(t.shape) != rank for t in tensors) or op.axis not in (-1, rank - 1):
        return None
    return [id(t) for t in tensors]


def _direct_step(layer, inference=False):
    if inference and callable(getattr(layer, "inference_call", None)):
        call = layer.inference_call()

        def run(values, key, training):
            return call(values[key])

        return run

    def run(values, key, training):
        return layer.direct_call(values[key], training)

    return run


def _keras_step(operation):
    """Call ``operation`` through Keras with the node's own arguments."""
    takes_training = getattr(operation, "_call_has_training_arg", False)

    def run(values, arguments, training):
        args, kwargs = arguments.fill_in(values)
        if takes_training:
            kwargs["training"] = training
        return operation(*args, **kwargs)

    run.torch_only = False
    return run


_convolutional = keras.src.layers.convolutional
_CONVOLUTIONS = (
    _convolutional.base_conv.BaseConv,
    _convolutional.base_conv_transpose.BaseConvTranspose,
    _convolutional.base_depthwise_conv.BaseDepthwiseConv,
    _convolutional.base_separable_conv.BaseSeparableConv,
)


def _convolution_step(layer):
    """Call a convolution through Keras, also on one-row batches.

    Keras runs convolutions on torch in channels-last memory format. For a
    batch of one row that format is ambiguous, and torch may take a kernel
    whose backward pass rejects the channels-last weight gradient
    (``RuntimeError: slow_conv2d: grad_weight must be contiguous``; Keras's
    own ``fit`` fails the same way when ``n_samples % batch_size == 1``). A
    one-row batch that needs gradients runs as two copies of the row; the
    first copy's output, value and gradient, is that of the row alone.
    """

    def run(values, key, training):
        x = values[key]
        if x.shape[0] == 1 and torch.is_grad_enabled():
            return layer(torch.cat([x, x]))[:1]
        return layer(x)

    run.torch_only = False
    return run


def _simple_input(node, ignore=()):
    """The id of a node's single tensor argument, or None if it has others.

    Keyword arguments left at None (Keras records ``mask=None`` for nested
    models) do not count, nor those named in ``ignore``.
    """
    args, kwargs = node.arguments.args, node.arguments.kwargs
    if (
        len(args) == 1
        and isinstance(args[0], keras.KerasTensor)
        and all(value is None or k in ignore for k, value in kwargs.items())
    ):
        return id(args[0])
    return None


# ------------------------------------------------------------- compilation


def _functional_of(model):
    """The functional graph behind ``model``, or None if it has none."""
    if isinstance(model, _Functional):
        return model
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    return None


def _emit(graph, input_ids, steps, compiled, keras_ops, inlined, inference=False):
    """Append the steps of ``graph`` (reading ``input_ids``) to ``steps``.

    Returns the id its output value is stored under. A nested model's steps
    are inlined at its first call only (``inlined`` holds the graphs already
    inlined): its values live under its own tensor ids, which a second call
    would overwrite, so later calls run it through Keras.
    """
    alias = {id(t): i for t, i in zip(graph.inputs, input_ids, strict=True)}

    def key(tensor_id):
        return alias.get(tensor_id, tensor_id)

    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            op = node.operation
            if not op or node.is_input:
                continue
            output_ids = [key(id(t)) for t in node.outputs]
            simple = _simple_input(node)
            direct = callable(getattr(op, "direct_call", None))
            if direct and simple is None:
                simple = _simple_input(node, ignore=("training",))
            inner = _functional_of(op) if simple is not None else None
            if (
                inner is not None
                and id(inner) not in inlined
                and len(inner.inputs) == 1
                and len(inner.outputs) == 1
            ):
                inlined.add(id(inner))
                out = _emit(
                    inner, [key(simple)], steps, compiled, keras_ops, inlined, inference
                )
                alias[id(node.outputs[0])] = out
                continue
            if (
                simple is not None
                and type(op) is keras.layers.Dense
                and _plain_float32(op)
            ):
                steps.append((_dense_step(op, inference), key(simple), output_ids))
                compiled.append(op)
            elif simple is not None and type(op) is keras.layers.Activation:
                steps.append((_activation_step(op), key(simple), output_ids))
                compiled.append(op)
            elif type(op) is keras.layers.Dropout and (
                (single := _simple_input(node, ignore=("training",))) is not None
            ):
                steps.append((_dropout_step(op), key(single), output_ids))
                compiled.append(op)
            elif (joined := _last_axis_concatenation(node)) is not None:
                keys = tuple(key(i) for i in joined)
                steps.append((_concatenate_step(op), keys, output_ids))
                compiled.append(op)
            elif simple is not None and direct:
                steps.append((_direct_step(op, inference), key(simple), output_ids))
                keras_ops.append(op)  # its weight penalties are in op.losses
            elif simple is not None and isinstance(op, _CONVOLUTIONS):
                steps.append((_convolution_step(op), key(simple), output_ids))
                keras_ops.append(op)
            else:
                steps.append(
                    (_keras_step(op), _Renamed(node.arguments, alias), output_ids)
                )
                keras_ops.append(op)
    (output,) = graph.outputs
    return key(id(output))


class _Renamed:
    """Node arguments whose input tensors may live under an alias id."""

    def __init__(self, arguments, alias):
        self._arguments = arguments
        self._alias = alias

    def fill_in(self, values):
        if not self._alias:
            return self._arguments.fill_in(values)
        view = _AliasedValues(values, self._alias)
        return self._arguments.fill_in(view)


class _AliasedValues(dict):
    def __init__(self, values, alias):
        super().__init__()
        self._values = values
        self._alias = alias

    def __contains__(self, tensor_id):
        return self._alias.get(tensor_id, tensor_id) in self._values

    def __getitem__(self, tensor_id):
        return self._values[self._alias.get(tensor_id, tensor_id)]

    def get(self, tensor_id, default=None):
        return self._values.get(self._alias.get(tensor_id, tensor_id), default)


def compile_model(model, *, inference=False):
    """Compile ``model`` (one input, one output) into a :class:`Program`.

    The program reads the variables' current tensors, so compile again after a
    variable is replaced (assignments that copy into the tensor are fine).
    ``inference=True`` keeps Dense kernels in the layout whose per-row results
    do not depend on the batch size (:class:`_TransposedKernel`); such a
    program is for ``training=False`` calls under ``torch.no_grad``.
    """
    graph = _functional_of(model)
    if graph is None or len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return Program(
            [(_whole_model_step(model), "x", ["y"])], ["x"], "y", [], [model]
        )
    steps, compiled, keras_ops = [], [], []
    input_id = id(graph.inputs[0])
    output_id = _emit(graph, [input_id], steps, compiled, keras_ops, set(), inference)
    return Program(steps, [input_id], output_id, compiled, keras_ops)


def _whole_model_step(model):
    takes_training = getattr(model, "_call_has_training_arg", True)

    def run(values, key, training):
        x = values[key]
        return model(x, training=training) if takes_training else model(x)

    run.torch_only = False
    return run
