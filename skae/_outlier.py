"""AutoencoderOutlierDetector: outliers are the rows reconstructed worst."""

import math
import weakref
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples

from . import _detector_defaults
from ._backend import keras
from ._base import BaseAutoencoder, fill_doc
from ._ensemble import (
    ELEMENTWISE_LOSSES,
    MemberSampling,
    RowSubsample,
    TrimmedLoss,
    build_ensemble,
    elementwise_errors,
    member_errors,
    member_mask,
    member_sampling,
)
from ._objective import _sampling_layer
from ._thresholds import (
    FixedThreshold,
    MeanStdThreshold,
    PercentileThreshold,
    offset_for,
)
from ._training import predict
from ._vocabulary import per_sample_loss

__all__ = ["AutoencoderOutlierDetector"]

#: Rows kept (a uniform sample of all rows trained on) to set the threshold and
#: the score's scales, after ``fit`` and after every ``partial_fit``.
RESERVOIR_ROWS = 10_000
#: Share of the training steps before ``trim_fraction`` applies.
WARMUP = 0.2
#: Floor of a scale, relative to the typical one, so no error divides by ~0.
SCALE_FLOOR = 1e-3


@fill_doc(
    n_components_default='"auto"',
    n_components_note=(
        '"auto" is ``ceil(n_features / 4)`` (see ``n_components_``). Keep it\n'
        "        well below the number of features: a bottleneck that does not\n"
        "        compress reconstructs outliers as well as inliers (a warning says\n"
        "        so)."
    ),
    activation_default='"tanh"',
    loss_default='"mae"',
    epochs_auto=(
        '"auto" gives a budget of 750 gradient steps, between 1 and 100\n'
        "        epochs (see ``epochs_``); the outlier detector's hidden layer is\n"
        '        ``(ceil(n_features / 2),)`` with ``hidden_layer_sizes="auto"``.'
    ),
)
class AutoencoderOutlierDetector(OutlierMixin, BaseAutoencoder):
    """Unsupervised outlier detection by autoencoder reconstruction error.

    An ensemble of small autoencoders learns to reconstruct the bulk of the
    training data through a narrow bottleneck; rows it reconstructs badly are
    unlike that bulk. The interface is scikit-learn's, as in
    :class:`~sklearn.ensemble.IsolationForest`: ``score_samples`` is minus the
    outlier score (higher is more normal), ``decision_function`` is
    ``score_samples(X) - offset_`` (negative for outliers), ``predict``
    returns +1 for inliers and -1 for outliers, and ``feature_errors`` says
    which features make a row an outlier.

    With every parameter at its default, the network and its training budget
    follow the shape of the data (see the fitted attributes ending in ``_``).
    Standardise the data first (e.g. with ``StandardScaler`` in a
    ``Pipeline``), so every feature counts in the error.

    Parameters
    ----------
    contamination : "auto", float in (0, 0.5] or threshold rule, default="auto"
        How ``offset_``, the threshold, is set from the training scores; it
        never changes the training.

        - "auto": Tukey's fence on the training errors: a row is an outlier
          when its error (``-score_samples``) exceeds ``Q3 + 1.5 * (Q3 -
          Q1)``, the upper quartile plus 1.5 interquartile ranges. Quartiles
          are not moved by the outliers themselves (up to a quarter of the
          data), and the rule assumes no outlier fraction; it may flag more
          or fewer rows than there are outliers.
        - float: the expected proportion of outliers: ``offset_`` is that
          quantile of the training scores, so that fraction of the training
          rows is predicted -1.
        - :class:`PercentileThreshold` ``(q)``: the ``q``-th percentile of
          the training scores.
        - :class:`MeanStdThreshold` ``(k)``: the training errors' mean plus
          ``k`` standard deviations.
        - :class:`FixedThreshold` ``(value)``: ``offset_`` is ``value``.

    n_estimators : int or "auto", default="auto"
        Number of autoencoders in the ensemble, trained together in one
        program; each scores the rows and their standardised scores are
        averaged. "auto" is ``100_000 // n_features ** 2`` between 1 and 10
        for the networks skae builds (10 up to 100 features, 1 from 224) and 1
        with ``image_shape`` or your own ``encoder`` and ``decoder`` (which
        train one network only).

    max_features : float in (0, 1], default=1.0
        Fraction of the features each member sees and reconstructs (a random
        subset per member), as in :class:`~sklearn.ensemble.IsolationForest`.

    max_samples : float in (0, 1] or "auto", default="auto"
        Expected fraction of the training rows each member trains on (a fixed
        pseudo-random subset per member); every member scores every row.
        "auto" is 0.5 for an ensemble of several members, 1.0 for one.

    trim_fraction : float in [0, 0.5), default=0.0
        Robust training: after the first fifth of the training steps, each
        member's loss leaves out this fraction of each batch's rows it
        reconstructs worst, so that outliers in the training data stop
        pulling the reconstruction towards themselves.

    scale_errors : bool, default=True
        Divide each feature's reconstruction error by its mean on the training
        data before summing over the features, so that a feature the network
        reconstructs badly everywhere does not drown the others.

    beta : float, None or "auto", default="auto"
        Weight of the KL term of a variational bottleneck, as in
        :class:`VariationalAutoencoder`: each member then scores a row by its
        negative evidence lower bound (its reconstruction error summed over
        the features plus its KL term), which also catches rows coded far
        from the training data. None gives a plain bottleneck. "auto" is 1.0
        for the networks skae builds and None with ``image_shape`` or your
        own networks.

    {common_parameters}

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` subtracts it, so
        rows scoring below it are outliers. Set by ``contamination`` on a
        sample of up to 10,000 of all the rows trained on (all of them below
        that), with the current network, after ``fit`` and ``partial_fit``.

    n_estimators_ : int
        Number of autoencoders in the ensemble.

    max_samples_ : float
        Expected fraction of the training rows each member trains on.

    beta_ : float or None
        Weight of the KL term, or None for a plain bottleneck.

    {common_attributes}

    See Also
    --------
    sklearn.ensemble.IsolationForest : Tree-based outlier detection.
    AutoencoderTransformer : The same network used for features.
    skae.plotting.FeatureErrorDisplay : Which features drive a row's score.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> inliers = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 8))  # a plane
    >>> outliers = rng.uniform(-6, 6, size=(5, 8))
    >>> X = np.vstack([inliers, outliers])
    >>> detector = AutoencoderOutlierDetector(
    ...     contamination=5 / 305, random_state=0).fit(X)
    >>> detector.predict(X[-5:])
    array([-1, -1, -1, -1, -1])
    >>> detector.n_components_, detector.hidden_layer_sizes_, detector.epochs_
    (2, (4,), 100)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
            PercentileThreshold,
            MeanStdThreshold,
            FixedThreshold,
        ],
        "n_components": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "init": [StrOptions({"auto", "random"})],
        "n_estimators": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_features": [Interval(Real, 0, 1, closed="right")],
        "max_samples": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "scale_errors": ["boolean"],
        "beta": [None, StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
    }

    _ARCHITECTURE = (
        *BaseAutoencoder._ARCHITECTURE,
        "beta",
        "n_estimators",
        "max_features",
    )

    def __init__(
        self,
        *,
        contamination="auto",
        n_estimators="auto",
        max_features=1.0,
        max_samples="auto",
        trim_fraction=0.0,
        scale_errors=True,
        beta="auto",
        n_components="auto",
        hidden_layer_sizes="auto",
        init="auto",
        activation="tanh",
        output_activation="auto",
        loss="mae",
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
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            init=init,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            dropout=dropout,
            l2=l2,
            clipnorm=clipnorm,
            metrics=metrics,
            callbacks=callbacks,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            image_shape=image_shape,
            encoder=encoder,
            decoder=decoder,
        )
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.max_samples = max_samples
        self.trim_fraction = trim_fraction
        self.scale_errors = scale_errors
        self.beta = beta

    # ------------------------------------------------------------------ fit

    def _fit(self, X, sample_weight, *, epochs, incremental):
        # What the hooks below need to know about this call, for its duration.
        continuing = hasattr(self, "_model") and (incremental or self.warm_start)
        self._call = {"continuing": continuing, "n_samples": _num_samples(X)}
        try:
            return super()._fit(
                X, sample_weight, epochs=epochs, incremental=incremental
            )
        finally:
            del self._call

    def _resolve_params(self, n_samples, n_features):
        given = {name: getattr(self, name) for name in _detector_defaults.AUTO}
        resolved = _detector_defaults.resolve(n_samples, n_features, **given)
        n_estimators = self.n_estimators
        if n_estimators == "auto":
            n_estimators = (
                _detector_defaults.n_estimators(n_samples, n_features)
                if self._is_ensemble()
                else 1
            )
        resolved["n_estimators"] = n_estimators
        max_samples = self.max_samples
        if max_samples == "auto":
            max_samples = _detector_defaults.max_samples(n_estimators)
        resolved["max_samples"] = max_samples
        beta = self.beta
        if beta == "auto":
            beta = _detector_defaults.BETA if self._is_ensemble() else None
        resolved["beta"] = beta
        return resolved

    _SCORING_STATE = (
        "_member_center",
        "_member_spread",
        "_feature_scale",
        "_reservoir",
        "_reservoir_weight",
        "_n_seen",
    )

    def _current(self, name):
        """The resolved value of ``name``: this fit's, or the fitted one."""
        resolved = getattr(self, "_resolved", None)
        return resolved[name] if resolved is not None else getattr(self, f"{name}_")

    def _is_ensemble(self):
        return self.encoder is None and self.image_shape is None

    def _build_networks(self, n_features, seed):
        if self._is_ensemble():
            sizes = self._resolved["hidden_layer_sizes"]
            _check_sizes(sizes)
            return build_ensemble(
                n_features,
                n_estimators=self._resolved["n_estimators"],
                n_components=self._resolved["n_components"],
                hidden_layer_sizes=sizes,
                activation=self.activation,
                output_activation=self._output_activation(),
                max_features=self.max_features,
                dropout=self._resolved["dropout"],
                l2=self.l2,
                beta=self._resolved["beta"],
                seed=seed,
            )
        if self._resolved["n_estimators"] != 1 or self.max_features != 1:
            raise ValueError(
                "n_estimators and max_features apply to the dense networks skae "
                "builds; with image_shape or your own encoder and decoder, leave "
                f"n_estimators at 'auto' or 1 and max_features at 1.0 (got "
                f"{self.n_estimators!r} and {self.max_features!r})."
            )
        return self._networks(n_features, seed, beta=self._resolved["beta"])

    def _objective(self, model):
        loss = self._member_loss()
        mask = member_mask(model)
        # The ensemble's sampling layer leaves its KL term to the loss; the
        # single network's (VariationalSampling) adds it to the model's losses.
        own_sampling = member_sampling(model)
        sampling = own_sampling or _sampling_layer(model)
        warmup = 0
        call = getattr(self, "_call", None)
        if call is not None and not call["continuing"]:
            steps = math.ceil(call["n_samples"] / self._resolved["batch_size"])
            warmup = int(WARMUP * self._resolved["epochs"] * steps)
        if call is not None and own_sampling is not None:
            done = int(self._optimizer.iterations) if call["continuing"] else 0
            own_sampling.restart_noise(done)

        def training_errors(x, out):
            return member_errors(loss, x, _members(out), _ones(mask, x))

        def scores(x, out):
            return self._member_scores(loss, sampling, mask, x, out)

        row_mask = None
        max_samples = self._current("max_samples")
        if max_samples < 1 and mask is not None:
            n_features, n_members = int(mask.shape[1]), int(mask.shape[0])
            row_mask = RowSubsample(n_features, n_members, max_samples, seed=0)
        objective = TrimmedLoss(
            training_errors,
            self.trim_fraction,
            warmup,
            sampling=own_sampling,
            beta=self._current("beta") or 0.0,
            row_mask=row_mask,
        )
        # A single variational network scores through the base's scoring
        # model, whose last output column is each row's KL term.
        scorer = super()._objective(model).scorer
        return _MemberObjective(
            objective, scores, own_sampling, training_errors, scorer
        )

    def _member_loss(self):
        """The loss as a name :func:`elementwise_errors` computes directly, or
        as a per-sample function."""
        if isinstance(self.loss, str) and self.loss in ELEMENTWISE_LOSSES:
            return self.loss
        return per_sample_loss(self.loss)

    def _member_scores(self, loss, sampling, mask, x, out, per_feature=False):
        """Per-member errors of a batch: ``(b, m)``, or ``(b, m, d + 1)`` with
        the features' scaled errors and the KL term (0 if none) side by side."""
        kl_column = None
        if sampling is not None and not isinstance(sampling, MemberSampling):
            out, kl_column = out[..., :-1], out[..., -1]  # the scoring model's
        elementwise = elementwise_errors(loss, x, _members(out), _ones(mask, x))
        scale = getattr(self, "_feature_scale", None)
        if scale is not None:
            elementwise = elementwise / torch.as_tensor(scale, device=x.device)
        shape = tuple(elementwise.shape[:2])
        kl = torch.zeros(shape, device=x.device)
        if kl_column is not None:
            kl = torch.reshape(kl_column, shape)
        elif sampling is not None:
            kl = torch.reshape(sampling.last_kl, shape)
        if per_feature:
            return torch.cat([elementwise, kl.unsqueeze(-1)], dim=-1)
        return torch.sum(elementwise, -1) + kl

    def _after_fit(self, X, sample_weight=None):
        continuing = getattr(self, "_call", {}).get("continuing", False)
        previous = getattr(self, "_reservoir", None) if continuing else None
        n_seen = self._n_seen if continuing else 0
        reservoir, new_n_seen = _update_reservoir(previous, n_seen, X)
        # The same draws (they depend on the counts only) keep each row's weight.
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        previous_weights = getattr(self, "_reservoir_weight", None)
        if previous is not None and previous_weights is None:
            previous_weights = np.ones(previous.shape[0])
        reservoir_weight, _ = _update_reservoir(
            None if previous is None else previous_weights[:, None],
            n_seen,
            np.asarray(weights, dtype=np.float64)[:, None],
        )
        self._reservoir, self._n_seen = reservoir, new_n_seen
        self._reservoir_weight = reservoir_weight[:, 0]
        self._feature_scale = None
        if self.scale_errors:
            parts = self._per_feature(reservoir)[..., :-1]
            self._feature_scale = np.maximum(
                parts.mean(axis=0), SCALE_FLOOR * parts.mean()
            ).astype(np.float32)
        errors = self._scores(reservoir)
        median = np.median(errors, axis=0)
        q1, q3 = np.percentile(errors, [25, 75], axis=0)
        self._member_center = median
        self._member_spread = np.maximum(q3 - q1, SCALE_FLOOR * np.abs(median) + 1e-12)
        weight = self._reservoir_weight
        weight = None if np.all(weight == weight[0]) else weight
        self.offset_ = offset_for(self.contamination, -self._combine(errors), weight)

    # -------------------------------------------------------- inference

    def _per_feature(self, X):
        return self._scores(X, per_feature=True)

    def _combine(self, member_errors):
        """Member errors ``(n, m)`` to the combined error ``(n,)``: the
        mean of the members' standardised errors, in float64 (a tensor for a
        tensor, the same bits as scoring computes)."""
        errors = member_errors
        if isinstance(errors, np.ndarray):
            errors = torch.from_numpy(errors)
        center = torch.as_tensor(self._member_center, device=errors.device)
        spread = torch.as_tensor(self._member_spread, device=errors.device)
        z = (errors.to(torch.float64) - center) / spread
        combined = z.mean(dim=1)
        return combined.numpy() if isinstance(member_errors, np.ndarray) else combined

    def _reconstruct(self, X):
        """The ensemble's reconstruction: each feature's mean over the members
        that see it."""
        out = super()._reconstruct(X)
        if out.ndim == 2:
            return out
        mask = member_mask(self._model)
        mask = keras.ops.convert_to_numpy(mask).astype(out.dtype)
        return (out * mask).sum(axis=1) / mask.sum(axis=0)

    def _reconstruction_errors(self, X):
        # Combined batch by batch: only one value per row leaves the batch,
        # not one per member (ten times the scores' memory on long inputs).
        return self._scores(X, combined=True)

    def _scores(self, X, per_feature=False, combined=False):
        """Per-member errors of validated ``X`` (see :meth:`_member_scores`),
        float64: what training's objective scores with, without building it;
        with ``combined``, the ensemble's error (:meth:`_combine`) instead."""
        scorer, mask, sampling = _scoring_parts(self, self._model)
        loss = self._member_loss()

        def reduce(x, out):
            scores = self._member_scores(loss, sampling, mask, x, out, per_feature)
            return self._combine(scores) if combined else scores

        errors = predict(scorer, X, device=self.device_, reduce=reduce)
        return errors.astype(np.float64, copy=False)

    def score_samples(self, X):
        """Minus the outlier score of each sample: higher is more normal.

        Each member of the ensemble scores a row by its reconstruction error
        (``loss`` summed over the features, each divided by its typical
        training error when ``scale_errors=True``), plus its KL term when
        ``beta`` is set (the row's negative evidence lower bound). A member's
        errors are standardised by their median and interquartile range on the
        training data, and the ensemble's score is minus their mean.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Higher is more normal; ``-feature_errors(X).sum(axis=1)``.
        """
        return super().score_samples(X)

    def feature_errors(self, X):
        """Each feature's part in each row's outlier score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to explain.

        Returns
        -------
        errors : ndarray of shape (n_samples, n_features), dtype float64
            Entry ``(i, j)`` is feature ``j``'s reconstruction error on row
            ``i``, standardised as ``score_samples`` standardises the row's
            error, so that each row sums to ``-score_samples(X)``. The parts
            of the score that belong to no feature (the training median that
            centres it, the KL term of a variational bottleneck) are shared
            equally among the features: they shift a row's bars, never their
            order. Large values mark the features the autoencoder could not
            reconstruct: why the row is an outlier.
        """
        X = self._validate_for_inference(X)
        parts = self._per_feature(X)
        n_features = X.shape[1]
        shared = (parts[..., -1] - self._member_center) / n_features
        contributions = (parts[..., :-1] + shared[..., None]) / self._member_spread[
            :, None
        ]
        return contributions.mean(axis=1)

    def decision_function(self, X):
        """Signed outlier score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Predict whether each row is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int
            +1 where ``decision_function(X) >= 0``, else -1 (a row whose score
            is NaN is an outlier).
        """
        decision = self.decision_function(X)
        labels = np.full(decision.shape[0], -1, dtype=int)
        labels[decision >= 0] = 1
        return labels


_SCORING = weakref.WeakKeyDictionary()


def _scoring_parts(detector, model):
    """``(scorer, mask, sampling)`` of a detector's ``model``, found once per
    model: the model scoring runs, its feature mask, its sampling layer."""
    parts = _SCORING.get(model)
    if parts is None:
        sampling = member_sampling(model) or _sampling_layer(model)
        scorer = BaseAutoencoder._objective(detector, model).scorer
        parts = _SCORING[model] = (scorer, member_mask(model), sampling)
    return parts


class _MemberObjective:
    """What the detector trains and scores with (as :class:`Objective`).

    A variational ensemble's history also tracks its members' mean
    reconstruction loss and mean KL term.
    """

    def __init__(self, loss, per_sample, sampling, errors, scorer):
        self.loss, self.per_sample = loss, per_sample
        self._sampling, self._errors = sampling, errors
        #: The model ``per_sample`` reads the output of.
        self.scorer = scorer

    def training_metrics(self):
        if self._sampling is None:
            return []

        def reconstruction_loss(y_true, y_pred):
            return keras.ops.mean(self._errors(y_true, y_pred), axis=-1)

        return [
            keras.metrics.MeanMetricWrapper(
                reconstruction_loss, name="reconstruction_loss"
            ),
            _LastKL(self._sampling),
        ]


class _LastKL(keras.metrics.Mean):
    """Mean KL term of an ensemble's sampling layer in this thread's latest
    training step, as a Keras metric."""

    def __init__(self, sampling, name="kl_loss"):
        super().__init__(name=name)
        self._sampling = sampling

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(self._sampling.last_kl)


def _check_sizes(sizes):
    array = np.asarray(sizes)
    if array.ndim != 1 or (
        array.size and not (np.issubdtype(array.dtype, np.integer) and array.min() >= 1)
    ):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers; got "
            f"{sizes!r}."
        )


def _members(out):
    """Reconstructions as ``(batch, m, n_features)`` (a single network: m = 1)."""
    return out if out.dim() == 3 else out.unsqueeze(1)


def _ones(mask, x):
    return torch.ones((1, x.shape[-1]), device=x.device) if mask is None else mask


def _update_reservoir(reservoir, n_seen, X):
    """A uniform sample of at most ``RESERVOIR_ROWS`` of all rows seen so far.

    Reservoir sampling (Vitter's algorithm R): every row of every call has the
    same chance to be in it. A fresh fit starts a new reservoir. Deterministic:
    its random draws depend only on the number of rows seen.
    """
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    rng = np.random.default_rng([n_seen, X.shape[0]])
    if reservoir is None:
        reservoir = X[:0]
    room = max(RESERVOIR_ROWS - reservoir.shape[0], 0)
    head, tail = X[:room], X[room:]
    reservoir = np.concatenate([reservoir, head.astype(reservoir.dtype, copy=False)])
    if tail.shape[0]:
        seen = n_seen + head.shape[0] + np.arange(tail.shape[0])
        slots = (rng.random(tail.shape[0]) * (seen + 1)).astype(np.int64)
        keep = slots < RESERVOIR_ROWS
        reservoir = reservoir.copy()
        reservoir[slots[keep]] = tail[keep]
    return reservoir, n_seen + X.shape[0]
