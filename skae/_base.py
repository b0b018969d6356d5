"""BaseAutoencoder: what every skae estimator shares.

The one ``fit`` (and ``partial_fit``), parameter validation, batched encoding,
decoding and scoring, and pickling to CPU state. Estimators customise it through
three small hooks:

* ``_build_networks(n_features, seed) -> (encoder, decoder)`` (e.g. a
  variational bottleneck)
* ``_corruption(X) -> callable or None`` (noise applied to training inputs)
* ``_after_fit(X, sample_weight)`` (e.g. an outlier threshold)

What is minimised and scored follows from the network (:mod:`._objective`): the
reconstruction loss, plus the KL term and a negative-ELBO score when the
encoder has a variational bottleneck.
"""

import math
import sys
import warnings
from abc import ABCMeta
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import _defaults
from ._backend import (
    EarlyStopping,
    check_device,
    device_scope,
    draw_seeds,
    keras,
    quiet_numpy_copy_warning,
    resolve_device,
    variables_to_numpy,
)
from ._data import check_float32_range, holdout, plain_rows
from ._export import save_model
from ._fit_state import FitSnapshot
from ._networks import build_autoencoder, join, wrap_networks
from ._objective import objective as _objective
from ._pca_init import initialise_linear_path
from ._training import predict, train
from ._version import __version__
from ._vocabulary import (
    LOSS_NAMES,
    OptimizerNames,
    check_activation,
    check_callbacks,
    check_per_sample_loss,
    is_binary_crossentropy,
    make_optimizer,
)
from .exceptions import InconsistentVersionWarning

__all__ = ["BaseAutoencoder"]


_COMMON_PARAMETERS = """\
    n_components : int, default={n_components_default}
        Width of the bottleneck: the size of the code each row is compressed
        to (the number of features ``transform`` returns, where there is one).
        {n_components_note}

    hidden_layer_sizes : tuple of int or "auto", default="auto"
        Widths of the encoder's hidden layers, from the input inwards. The
        decoder mirrors them, so ``(128, 64)`` with ``n_components=8`` on 64
        features builds ``64-128-64-8-64-128-64``. ``()`` gives a linear
        (PCA-like) encoder and decoder. "auto" sizes the network from the
        number of features and ``n_components`` (see ``hidden_layer_sizes_``).

    init : {{"auto", "pca", "random"}}, default="auto"
        How the network starts. "pca" starts at PCA's solution: the code
        layer also reads the input and the reconstruction layer the code
        (a linear path beside the hidden layers), set to the principal
        components of the training data, and the weights from the hidden
        layers start at zero, so the untrained autoencoder is PCA and training
        learns what PCA misses. "random" is Keras's usual random
        initialisation. "auto" is "pca" for dense networks without a
        variational bottleneck whose size skae chooses
        (``hidden_layer_sizes="auto"``), and "random" otherwise, so that
        networks you size yourself train as they always did (see ``init_``).

    activation : str, default={activation_default}
        Activation of the hidden layers; any name ``keras.activations.get``
        knows ("relu", "tanh", "elu", "gelu", "selu", "sigmoid", ...).

    output_activation : str, default="auto"
        Activation of the reconstruction layer. "auto" picks "sigmoid" for
        ``loss="binary_crossentropy"`` (reconstructions in [0, 1]) and "linear"
        otherwise.

    loss : str, keras.losses.Loss or callable, default={loss_default}
        Reconstruction loss, minimised in training and reported per sample by
        ``score_samples``: any name ``keras.losses.get`` accepts ("mse",
        "mean_squared_error", "mae", "huber", "log_cosh",
        "binary_crossentropy", "MeanSquaredError", ...). "binary_crossentropy"
        needs data in [0, 1] (e.g. after ``MinMaxScaler``, or images scaled to
        [0, 1]). A ``keras.losses.Loss`` instance or a Keras loss function of
        ``(y_true, y_pred)`` returning one value per sample is also accepted
        (checked on two rows before training).

    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Keras optimizer: any name ``keras.optimizers.get`` accepts ("adam",
        "adamw", "sgd", "rmsprop", "nadam", "adagrad", "adamax", "adadelta",
        "lion", "Adam", ...). A name builds it with ``learning_rate`` and
        ``clipnorm``; an instance is copied from its config at each fit (never
        modified), keeps its own learning rate and gets ``clipnorm`` only if
        ``clipnorm`` is set here.

    learning_rate : float, default=0.001
        Step size of a string ``optimizer``.

    epochs : int or "auto", default="auto"
        Passes over the training data (fewer if early stopping triggers).
        {epochs_auto}

    batch_size : int or "auto", default="auto"
        Rows per training step; "auto" is ``min(200, n_samples)``, as in
        scikit-learn's ``MLPRegressor``.

    dropout : float in [0, 1) or "auto", default="auto"
        Dropout rate after every hidden layer, during training only. "auto"
        is 0.1 when the network starts at PCA (``init_ == "pca"``), which
        regularises what the hidden layers add to PCA, and 0 otherwise (see
        ``dropout_``).

    l2 : float, default=0.0
        L2 penalty on every weight matrix, added to the loss (Keras's
        ``kernel_regularizer=L2(l2)``).

    clipnorm : float or None, default=None
        If set, each weight's gradient is clipped to this norm (Keras's
        ``clipnorm``).

    metrics : list of str or keras.metrics.Metric, default=None
        Extra Keras metrics ("mse", "mae", ...) computed on the reconstructions
        each epoch and stored in ``history_`` (with a ``val_`` copy when a
        validation set is held out).

    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks (``EarlyStopping``, ``ReduceLROnPlateau``,
        ``CSVLogger``, your own ...) called during training as Keras's ``fit``
        calls them.

    early_stopping : bool, default=False
        Stop when the validation loss has not improved for ``patience`` epochs
        and restore the weights of the best epoch.

    validation_fraction : float in [0, 1) or None, default=None
        Fraction of the training rows held out (at random) to compute
        ``val_loss`` and validation metrics each epoch. None means 0.1 when
        ``early_stopping=True`` and no validation set otherwise.

    patience : int, default=10
        Epochs without improvement of ``val_loss`` before early stopping.

    device : {{"auto", "cpu", "cuda"}} or "cuda:N", default="auto"
        Where the network trains and runs: "auto" takes the first visible GPU
        if torch sees one, else the CPU. Results always come back as numpy.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch order, validation split and
        noise. An int gives identical results on every fit on the CPU.

    verbose : int, default=0
        0 is silent, 1 shows a progress bar, 2 prints one line per epoch.

    warm_start : bool, default=False
        If True, ``fit`` continues training the network of the previous fit
        instead of building a new one (its architecture parameters must not have
        changed).

    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)``: each row of ``X``
        is an image (flattened in C order, channels last), and skae builds a
        convolutional encoder and decoder: one 3x3 convolution with stride 2
        per entry of ``hidden_layer_sizes`` (its number of filters), mirrored by
        transposed convolutions. ``X`` stays 2-D, so Pipelines work unchanged.

    encoder, decoder : keras.Model or callable, default=None
        Your own networks, used instead of the built ones (give both). A
        ``keras.Model`` is copied at each fit, with its current weights as the
        starting point, and never modified; a callable is called with the
        number of features and returns a new ``keras.Model``. The encoder maps
        rows (or images of ``image_shape``) to the code, the decoder maps the
        code back to rows (or images). ``n_components``,
        ``hidden_layer_sizes``, ``activation``, ``output_activation``,
        ``dropout`` and ``l2`` then do not apply. Custom layers must be
        registered with ``keras.saving.register_keras_serializable`` for the
        estimator to pickle."""

_COMMON_ATTRIBUTES = """\
    encoder_ : keras.Model
        The trained encoder, ``X -> bottleneck``. A regular Keras model (it
        can be saved with ``encoder_.save("encoder.keras")``), and a view on
        the trained network, not a copy: it shares its weights with the
        estimator.

    decoder_ : keras.Model
        The trained decoder, ``bottleneck -> reconstruction``.

    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``, metrics), as in Keras's
        ``History.history``. Continued training appends to it.

    n_iter_ : int
        Number of epochs trained in total.

    n_components_ : int
        Width of the bottleneck in this fit (``n_components``, resolved).

    init_ : {"pca", "random"}
        How this fit's network started (``init``, resolved).

    dropout_ : float
        Dropout rate of this fit (``dropout``, resolved).

    hidden_layer_sizes_ : tuple of int
        Widths of the encoder's hidden layers in this fit: ``hidden_layer_sizes``
        or, if "auto", the widths chosen from the data's shape.

    epochs_ : int
        Epochs ``fit`` trained for at most: ``epochs``, or the budget "auto"
        chose from the number of rows.

    batch_size_ : int
        Rows per training step in this fit.

    device_ : torch.device
        Device the network lives on.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names."""


#: What an estimator's docstring says unless it passes its own to ``fill_doc``.
_DOC_DEFAULTS = {
    "activation_default": '"relu"',
    "loss_default": '"mse"',
    "epochs_auto": (
        '"auto" sizes the budget from the data\'s shape (see ``epochs_``):\n'
        "        from PCA's solution, up to 600 gradient steps and 20 epochs, "
        "fewer as\n"
        "        ``n_components`` grows, and none from a quarter of the number of\n"
        "        features on (the autoencoder then stays PCA; a\n"
        "        ``DenoisingAutoencoder`` keeps the whole budget, since PCA does not\n"
        "        denoise); from a random start, about 2,000 steps, between 10 and 200\n"
        "        epochs."
    ),
}


def fill_doc(**extra):
    """Class decorator filling ``{common_parameters}``/``{common_attributes}``."""

    def decorate(cls):
        fragment = _COMMON_PARAMETERS.format(**{**_DOC_DEFAULTS, **extra})
        cls.__doc__ = cls.__doc__.format(
            # The placeholders stand indented in the docstring: the fragments'
            # first lines bring no indentation of their own.
            common_parameters=fragment.lstrip(),
            common_attributes=_COMMON_ATTRIBUTES.lstrip(),
        )
        return cls

    return decorate


class BaseAutoencoder(BaseEstimator, metaclass=ABCMeta):
    """Base class for skae's autoencoders. Not for direct use."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [StrOptions({"auto"}), "array-like"],
        "init": [StrOptions({"auto", "pca", "random"})],
        "activation": [str],
        "output_activation": [str],
        "loss": [
            StrOptions(set(LOSS_NAMES)),
            keras.losses.Loss,
            callable,
        ],
        "optimizer": [OptimizerNames(), keras.optimizers.Optimizer],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "dropout": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "clipnorm": [None, Interval(Real, 0, None, closed="neither")],
        "metrics": [None, list],
        "callbacks": [None, list],
        "early_stopping": ["boolean"],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "image_shape": [None, tuple],
        "encoder": [None, callable],
        "decoder": [None, callable],
    }

    #: Private fitted state (beside the network and the ``_``-suffixed
    #: attributes) that scoring and continued training read: ``save_model``
    #: stores it.
    _SCORING_STATE = ()

    #: The parameters that define the network: a warm start cannot change them.
    _ARCHITECTURE = (
        "n_components",
        "hidden_layer_sizes",
        "init",
        "activation",
        "output_activation",
        "loss",
        "dropout",
        "l2",
        "image_shape",
        "encoder",
        "decoder",
    )

    #: Warn when ``n_components >= n_features`` (the network can then learn the
    #: identity). Denoising autoencoders may be overcomplete on purpose.
    _warn_if_overcomplete = True

    #: Whether "auto" epochs from PCA's start shrink as the code widens (see
    #: ``skae._defaults.pca_epochs``).
    _shrink_pca_budget = True

    def __init__(
        self,
        *,
        n_components=2,
        hidden_layer_sizes="auto",
        init="auto",
        activation="relu",
        output_activation="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=0.001,
        epochs="auto",
        batch_size="auto",
        dropout="auto",
        l2=0.0,
        clipnorm=None,
        metrics=None,
        callbacks=None,
        early_stopping=False,
        validation_fraction=None,
        patience=10,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        image_shape=None,
        encoder=None,
        decoder=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.init = init
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.l2 = l2
        self.clipnorm = clipnorm
        self.metrics = metrics
        self.callbacks = callbacks
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.image_shape = image_shape
        self.encoder = encoder
        self.decoder = decoder

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the autoencoder to reconstruct ``X``.

        A fit that raises (bad data, a non-finite loss, an exception from a
        callback, ``KeyboardInterrupt``) leaves the estimator as it was before.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is densified batch by batch.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the loss: each batch minimises the weighted
            mean of its rows' losses. The validation split and loss use them
            too, and so does the outlier detector's threshold. None gives
            every row the same weight.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_restore(X, sample_weight, epochs=None, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one epoch on ``X``, continuing from the current weights.

        The first call builds the network. No validation set is held out and
        early stopping does not apply; callbacks are called as in ``fit``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the loss (see ``fit``).

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_or_restore(X, sample_weight, epochs=1, incremental=True)

    def _fit_or_restore(self, X, sample_weight, *, epochs, incremental):
        """``_fit``, undone entirely if anything raises (see :mod:`._fit_state`)."""
        continuing = hasattr(self, "_model") and (incremental or self.warm_start)
        snapshot = FitSnapshot(self, continuing=continuing)
        try:
            return self._fit(X, sample_weight, epochs=epochs, incremental=incremental)
        except BaseException:
            snapshot.restore()
            raise

    def _fit(self, X, sample_weight, *, epochs, incremental):
        """Train on ``X`` for ``epochs`` (None: the resolved ``epochs_``)."""
        continuing = hasattr(self, "_model") and (incremental or self.warm_start)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=not continuing,
        )
        check_float32_range(X)
        sample_weight = _sample_weight(sample_weight, X)
        check_device(self.device)
        self._check_parameters()
        self._check_data_fits_loss(X)
        check_per_sample_loss(self.loss, _first_rows(X, 2))
        n_samples, n_features = X.shape
        self._resolved = self._resolve_params(n_samples, n_features)
        if epochs is None:
            epochs = self._resolved["epochs"]
        self._resolved["epochs"] = epochs  # partial_fit: one epoch
        rng = check_random_state(self.random_state)
        build_seed, train_seed, split_seed = draw_seeds(rng, 3)

        if continuing:
            self._check_architecture_unchanged()
            model, optimizer, device = self._model, self._optimizer, self.device_
            if isinstance(self.optimizer, str):
                optimizer.learning_rate = self.learning_rate
            history, initial_epoch = self.history_, self.n_iter_
        else:
            device = resolve_device(self.device)
            with device_scope(device):
                encoder, decoder = self._build_networks(n_features, build_seed)
                model = join(encoder, decoder)
            self._warn_overcomplete(encoder, n_features)
            optimizer = self._make_optimizer()
            history, initial_epoch = {}, 0

        x_train, x_val, w_train, w_val = self._split(
            X, sample_weight, incremental, split_seed
        )
        if not continuing and self._resolved["init"] == "pca":
            initialise_linear_path(encoder, decoder, x_train, build_seed)
        callbacks = list(self.callbacks or [])
        if x_val is not None and self.early_stopping and not incremental:
            callbacks.append(
                EarlyStopping(
                    monitor="val_loss",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        objective = self._objective(model)
        new_history = train(
            model,
            x_train,
            x_val=x_val,
            loss=objective.loss,
            optimizer=optimizer,
            metrics=[*(self.metrics or []), *objective.training_metrics()],
            callbacks=callbacks,
            epochs=epochs,
            batch_size=self._resolved["batch_size"],
            corrupt=self._corruption(X),
            seed=train_seed,
            verbose=self.verbose,
            device=device,
            initial_epoch=initial_epoch,
            sample_weight=w_train,
            val_sample_weight=w_val,
        )
        del x_train, x_val  # the float32 copy of X, before scoring X

        self._model = model
        self._optimizer = optimizer
        self._fitted_architecture = self._architecture_params()
        self.encoder_ = model.get_layer("encoder")
        self.decoder_ = model.get_layer("decoder")
        self.device_ = device
        self.history_ = _concat_histories(history, new_history, initial_epoch)
        self.n_iter_ = initial_epoch + len(new_history.get("loss", []))
        for name, value in self._resolved.items():
            setattr(self, f"{name}_", value)
        self._after_fit(X, sample_weight)
        return self

    # ------------------------------------------------------------- hooks

    def _resolve_params(self, n_samples, n_features):
        """Hook: ``{name: value}`` of the resolvable parameters for this data.

        "auto" values follow the rules of :mod:`skae._defaults`; explicit ones
        are kept. ``fit`` stores each as the fitted attribute ``<name>_``.
        """
        given = {name: getattr(self, name) for name in _defaults.AUTO}
        dense = self.image_shape is None and self.encoder is None
        if self.init == "pca" and not dense:
            raise ValueError(
                'init="pca" needs a dense network built by skae: it does not '
                "apply with image_shape or your own encoder and decoder."
            )
        return _defaults.resolve(
            n_samples,
            n_features,
            pca_possible=dense
            and getattr(self, "beta", None) is None
            and isinstance(self.hidden_layer_sizes, str),
            shrink=self._shrink_pca_budget,
            **given,
        )

    def _build_networks(self, n_features, seed):
        """Hook: return ``(encoder, decoder)`` Keras models for ``n_features``."""
        return self._networks(n_features, seed)

    def _corruption(self, X):
        """Hook: ``corrupt(batch, generator) -> batch`` for training inputs, or None."""
        return None

    def _after_fit(self, X, sample_weight=None):
        """Hook: called at the end of ``fit`` with the validated training data
        and its row weights (None when unweighted)."""

    def _objective(self, model):
        """Hook: the :class:`Objective` ``model`` trains and scores with."""
        return _objective(model, self.loss)

    # ------------------------------------------------------ fit helpers

    def _networks(self, n_features, seed, *, beta=None):
        """The user's networks, or built ones; variational if ``beta`` is set."""
        self._check_image_shape(n_features)
        if (self.encoder is None) != (self.decoder is None):
            raise ValueError(
                "encoder and decoder go together: give both, or neither to let "
                "skae build them."
            )
        if self.encoder is not None:
            return wrap_networks(
                self.encoder,
                self.decoder,
                n_features,
                image_shape=self.image_shape,
                beta=beta,
                seed=seed,
            )
        sizes = np.asarray(self._resolved["hidden_layer_sizes"])
        if sizes.ndim != 1 or (
            sizes.size
            and not (np.issubdtype(sizes.dtype, np.integer) and sizes.min() >= 1)
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers; got "
                f"{self._resolved['hidden_layer_sizes']!r}."
            )
        return build_autoencoder(
            n_features,
            n_components=self._resolved["n_components"],
            hidden_layer_sizes=self._resolved["hidden_layer_sizes"],
            activation=self.activation,
            output_activation=self._output_activation(),
            dropout=self._resolved["dropout"],
            l2=self.l2,
            seed=seed,
            image_shape=self.image_shape,
            beta=beta,
            linear_path=self._resolved["init"] == "pca",
        )

    def _check_image_shape(self, n_features):
        shape = self.image_shape
        if shape is None:
            return
        if not (
            len(shape) in (2, 3)
            and all(isinstance(s, Integral) and s >= 1 for s in shape)
            and math.prod(shape) == n_features
        ):
            raise ValueError(
                "image_shape must be (height, width) or (height, width, channels) "
                f"with as many pixels as X has features ({n_features}); got {shape}."
            )

    def _warn_overcomplete(self, encoder, n_features):
        width = int(encoder.output_shape[-1])
        if self._warn_if_overcomplete and width >= n_features:
            warnings.warn(
                f"n_components={width} is not smaller than the number of features "
                f"({n_features}): the bottleneck does not compress, and the "
                "autoencoder can learn the identity.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )

    def _check_parameters(self):
        """What ``_parameter_constraints`` cannot say, checked before building."""
        check_activation(self.activation, "activation")
        if self.output_activation != "auto":
            check_activation(self.output_activation, "output_activation")
        check_callbacks(self.callbacks)

    def _check_data_fits_loss(self, X):
        if not is_binary_crossentropy(self.loss):
            return
        values = X.data if sp.issparse(X) else X
        low, high = (
            (float(values.min()), float(values.max())) if values.size else (0, 0)
        )
        if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
            low, high = min(low, 0.0), max(high, 0.0)
        if low < 0 or high > 1:
            raise ValueError(
                "loss='binary_crossentropy' needs X in [0, 1], but X ranges over "
                f"[{low:.4g}, {high:.4g}]. Rescale X (e.g. with MinMaxScaler) or "
                "use loss='mse'."
            )

    def _architecture_params(self):
        """The architecture parameters of this fit, "auto" ones resolved."""
        params = self.get_params(deep=False)
        resolved = getattr(self, "_resolved", None)
        if resolved is None:  # a loaded estimator: its fitted attributes
            resolved = {
                name: getattr(self, f"{name}_")
                for name, value in params.items()
                if isinstance(value, str)
                and value == "auto"
                and hasattr(self, f"{name}_")
            }
        params.update(resolved)
        return {name: params[name] for name in self._ARCHITECTURE}

    def _check_architecture_unchanged(self):
        now = self._architecture_params()
        changed = [
            f"{name} from {self._fitted_architecture[name]!r} to {now[name]!r}"
            for name in self._ARCHITECTURE
            if not _same(now[name], self._fitted_architecture[name])
        ]
        if changed:
            raise ValueError(
                "warm_start=True continues training the existing network, which "
                f"cannot change {', '.join(changed)}. Set warm_start=False to "
                "build a new network."
            )

    def _output_activation(self):
        if self.output_activation != "auto":
            return self.output_activation
        return "sigmoid" if is_binary_crossentropy(self.loss) else "linear"

    def _make_optimizer(self):
        return make_optimizer(
            self.optimizer, learning_rate=self.learning_rate, clipnorm=self.clipnorm
        )

    def _split(self, X, sample_weight, incremental, seed):
        """``(x_train, x_val, w_train, w_val)``; ``x_val`` None when nothing is
        held out, the weights None without ``sample_weight``."""
        fraction = self.validation_fraction
        if fraction is None:
            fraction = 0.1 if self.early_stopping else 0.0
        if self.early_stopping and fraction == 0:
            raise ValueError(
                "early_stopping=True needs a validation set: set "
                "validation_fraction > 0 (or leave it None for 0.1)."
            )
        if incremental or fraction == 0:
            return X, None, sample_weight, None
        n_samples = X.shape[0]
        n_val = math.ceil(fraction * n_samples)
        if n_val >= n_samples:
            raise ValueError(
                f"validation_fraction={fraction} leaves no training data with "
                f"n_samples={n_samples}."
            )
        return holdout(X, sample_weight, n_val, seed)

    # -------------------------------------------------------- inference

    def _validate_for_inference(self, X):
        fitted = vars(self)
        if "feature_names_in_" not in fitted and plain_rows(
            X, fitted.get("n_features_in_")
        ):
            # A fitted estimator (fit sets n_features_in_, a failed first fit
            # leaves none), and rows validate_data would pass through
            # unchanged: skip its cost, which on a few rows is the network's.
            # Anything it might reject or convert (NaN, inf) takes its path.
            return X
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=False,
        )
        check_float32_range(X)
        return X

    def _encode(self, X):
        """Bottleneck of validated ``X``, in ``X``'s float dtype."""
        z = predict(self.encoder_, X, device=self.device_)
        return z.astype(X.dtype, copy=False)

    def _decode(self, Z):
        x = predict(self.decoder_, Z, device=self.device_)
        return x.astype(Z.dtype, copy=False)

    def _reconstruction_errors(self, X):
        """Per-sample reconstruction loss of validated ``X``, float64."""
        objective = self._objective(self._model)
        errors = predict(
            objective.scorer, X, device=self.device_, reduce=objective.per_sample
        )
        return errors.astype(np.float64)

    def _reconstruct(self, X):
        """Reconstructions of validated ``X``, in ``X``'s float dtype."""
        return predict(self._model, X, device=self.device_).astype(X.dtype, copy=False)

    def score_samples(self, X):
        """Minus the reconstruction error of each sample (higher is better).

        The error is the training loss (``loss``) averaged over the features of
        each row. With a variational bottleneck (:class:`VariationalAutoencoder`,
        or an :class:`AutoencoderOutlierDetector` with ``beta`` set) the score
        is each row's evidence lower bound instead: minus the loss summed over
        the features (at the posterior mean) minus the row's KL term.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            ``-loss(x, reconstruction(x))`` per row.
        """
        X = self._validate_for_inference(X)
        return -self._reconstruction_errors(X)

    def score(self, X, y=None):
        """Minus the mean reconstruction error on ``X`` (higher is better).

        This lets ``GridSearchCV`` tune ``n_components`` and the other
        parameters without labels. With a variational bottleneck it is the
        mean evidence lower bound (see ``score_samples``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            ``score_samples(X).mean()``.
        """
        return float(np.mean(self.score_samples(X)))

    # ----------------------------------------------------------- saving

    def save_model(self, path):
        """Save the trained network as one Keras file, for Keras or skae.

        The file is an ordinary ``.keras`` archive of the whole autoencoder
        (``x -> reconstruction``, with its "encoder" and "decoder" submodels):
        ``keras.saving.load_model(path)`` loads it without the estimator
        (``import skae`` first, which registers skae's layers). It also holds
        the estimator's parameters and fitted attributes, so
        :func:`skae.load_model` builds the estimator back, giving the same
        ``transform``, ``score_samples`` and ``predict``. The optimizer's state
        is not saved: pickle the estimator to resume training where it stopped.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; the name must end in ".keras".
        """
        check_is_fitted(self)
        save_model(self, path)

    # ----------------------------------------------------------- pickling

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never edit the live __dict__
        state["_skae_version"] = __version__
        if "_model" not in state:
            return state
        model, optimizer = state.pop("_model"), state.pop("_optimizer")
        del state["encoder_"], state["decoder_"]
        with quiet_numpy_copy_warning():  # Keras reads the learning rate so
            config = keras.saving.serialize_keras_object(model)
            optimizer_config = keras.saving.serialize_keras_object(optimizer)
        config.pop("compile_config", None)  # the estimator compiles at each fit
        state["_keras_state"] = {
            "model": config,
            "weights": variables_to_numpy(model.weights),
            "optimizer": optimizer_config,
            "optimizer_variables": (
                variables_to_numpy(optimizer.variables) if optimizer.built else None
            ),
        }
        del state["device_"]
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_skae_version", "unknown")
        if version != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=__version__,
                    original_version=version,
                ),
                stacklevel=2,
            )
        keras_state = state.pop("_keras_state", None)
        super().__setstate__(state)
        if keras_state is None:
            return
        device = self._loading_device(stacklevel=3)
        with device_scope(device):
            model = keras.saving.deserialize_keras_object(keras_state["model"])
            model.set_weights(keras_state["weights"])
            optimizer = keras.saving.deserialize_keras_object(keras_state["optimizer"])
            if keras_state["optimizer_variables"] is not None:
                optimizer.build(model.trainable_variables)
                for variable, value in zip(
                    optimizer.variables, keras_state["optimizer_variables"], strict=True
                ):
                    variable.assign(value)
        self._attach_network(model, optimizer, device)

    def _loading_device(self, stacklevel):
        """The device a loaded model goes to: ``device``'s, else the CPU."""
        try:
            return resolve_device(self.device)
        except ValueError as exc:
            warnings.warn(
                f"{exc} Loading the model on the CPU instead.",
                UserWarning,
                stacklevel=stacklevel + 1,
            )
            return resolve_device("cpu")

    def _attach_network(self, model, optimizer, device):
        """Make a loaded ``model`` the estimator's trained network."""
        self._model = model
        self._optimizer = optimizer
        self.encoder_ = model.get_layer("encoder")
        self.decoder_ = model.get_layer("decoder")
        self.device_ = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _sample_weight(sample_weight, X):
    """Validated row weights, or None when there are none or all are equal
    (a weighted mean with equal weights is the plain mean, computed as such)."""
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    check_float32_range(sample_weight, "sample_weight")
    if np.all(sample_weight == sample_weight[0]):
        return None
    return sample_weight


def _first_rows(X, n):
    """The first ``n`` rows of validated ``X``, dense."""
    rows = X[:n]
    return rows.toarray() if sp.issparse(rows) else np.asarray(rows)


def _concat_histories(old, new, n_old):
    """A new history dict: ``old`` (``n_old`` epochs) followed by ``new``.

    A key present in only one of them (``val_loss`` when one call held out a
    validation set and the other did not) is padded with NaN, so every list
    stays aligned with the epochs.
    """
    n_new = len(new.get("loss", []))
    return {
        key: list(old.get(key, [math.nan] * n_old))
        + list(new.get(key, [math.nan] * n_new))
        for key in {**old, **new}
    }


def _same(a, b):
    """Parameter equality that treats tuples and lists of numbers alike."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a is b or a == b


def _user_stacklevel():
    """``stacklevel`` for a warning raised by the caller that points at the
    frame that called into skae or scikit-learn from outside: the user's
    ``fit`` call, through however many wrappers (``_fit_context``, a Pipeline,
    a search, a decorator of another tool) it went."""
    frame, level, outermost = sys._getframe(1), 1, 1
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(("skae.", "sklearn.")):
            outermost = level
        frame, level = frame.f_back, level + 1
    return outermost + 1
