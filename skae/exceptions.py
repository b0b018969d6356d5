"""Warnings and errors skae raises, beside scikit-learn's and Keras's own."""

from ._training import NonFiniteLossError

__all__ = ["InconsistentVersionWarning", "NonFiniteLossError"]


class InconsistentVersionWarning(UserWarning):
    """Warning raised when an estimator is unpickled with another skae version.

    As scikit-learn's :class:`~sklearn.exceptions.InconsistentVersionWarning`:
    a model saved by one version of skae may not load, or may not behave the
    same, under another. Refit it, or load it with the version that saved it.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name.
    current_version : str
        The skae version now installed.
    original_version : str
        The skae version that pickled the estimator ("unknown" if the pickle
        does not say).
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skae version "
            f"{self.original_version} when using version {self.current_version}. "
            "This might lead to breaking code or invalid results. Use at your own "
            "risk."
        )
