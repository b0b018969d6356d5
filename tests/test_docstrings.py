"""Docstrings of the public API follow numpydoc and agree with the signatures.

Every public class and function of ``skae``, ``skae.plotting`` and
``skae.parallel``, and every public method skae defines on them (inherited
scikit-learn methods are scikit-learn's to check), is run through numpydoc's
validation. The estimators' docstrings are assembled by ``fill_doc`` from
shared fragments: what is checked is the final ``__doc__``.
"""

import ast
import importlib
import inspect
import re

import pytest

import skae
import skae.parallel
import skae.plotting

numpydoc_validate = pytest.importorskip(
    "numpydoc.validate", reason="numpydoc is not installed (pip install numpydoc)"
)
NumpyDocString = pytest.importorskip("numpydoc.docscrape").NumpyDocString

#: numpydoc checks not enforced: an extended summary and a See Also section
#: are welcome but optional; named return values (RT02) are scikit-learn's
#: style; summaries such as "Minus the reconstruction error ..." are fine
#: without an infinitive verb (SS05).
IGNORED = {"ES01", "SA01", "RT02", "SS05"}

#: Methods need no Examples section of their own: their class has one.
IGNORED_FOR_METHODS = IGNORED | {"EX01"}

#: Known gaps, each with the reason it is not fixed here (none at present).
KNOWN_GAPS = {}

MODULES = {
    "skae": [name for name in skae.__all__ if not name.startswith("_")],
    "skae.plotting": skae.plotting.__all__,
    "skae.parallel": skae.parallel.__all__,
}


def _public_objects():
    """``(import path, object, is_method)`` of every public name to check."""
    for module_name, names in MODULES.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # e.g. __version__
            path = f"{module_name}.{name}"
            yield path, obj, False
            if not inspect.isclass(obj):
                continue
            for attr in sorted(vars_of_mro(obj)):
                member = getattr(obj, attr)
                if callable(member) and getattr(member, "__module__", "").startswith(
                    "skae"
                ):
                    yield f"{path}.{attr}", member, True


def vars_of_mro(cls):
    """Public attribute names that ``cls`` or its skae bases define."""
    names = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("skae"):
            names.update(name for name in vars(klass) if not name.startswith("_"))
    return names


OBJECTS = list(_public_objects())
IDS = [path for path, _, _ in OBJECTS]


def test_every_public_name_is_checked():
    checked = set(IDS)
    for module_name, names in MODULES.items():
        for name in names:
            if name != "__version__":
                assert f"{module_name}.{name}" in checked


@pytest.mark.parametrize(("path", "obj", "is_method"), OBJECTS, ids=IDS)
def test_numpydoc_validation(path, obj, is_method, request):
    ignored = IGNORED_FOR_METHODS if is_method else IGNORED
    result = numpydoc_validate.validate(path)
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in ignored and (path, code) not in KNOWN_GAPS
    ]
    gaps = [
        KNOWN_GAPS[path, code]
        for code, _ in result["errors"]
        if (path, code) in KNOWN_GAPS
    ]
    assert not errors, f"{path}:\n" + "\n".join(errors)
    if gaps:
        request.applymarker(pytest.mark.xfail(reason="; ".join(gaps)))
        pytest.fail("; ".join(gaps))


def _documented_parameters(obj):
    doc = NumpyDocString(inspect.getdoc(obj) or "")
    for param in doc["Parameters"]:
        # "encoder, decoder : ..." documents two parameters at once.
        for name in param.name.split(","):
            yield name.strip().lstrip("*"), param.type


def _signature(obj):
    return inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@pytest.mark.parametrize(("path", "obj", "is_method"), OBJECTS, ids=IDS)
def test_documented_defaults_match_signature(path, obj, is_method):
    """``default=`` in each parameter's type is the signature's default."""
    parameters = _signature(obj).parameters
    mismatches = []
    for name, type_ in _documented_parameters(obj):
        match = re.search(r"default=(.+)$", type_)
        if match is None or name not in parameters:
            continue  # PR01/PR02 report missing parameters
        documented = _literal(match.group(1).strip())
        actual = parameters[name].default
        if actual is inspect.Parameter.empty:
            mismatches.append(f"{name}: documented default={documented!r}, none")
        elif documented != actual:
            mismatches.append(
                f"{name}: documented default={documented!r}, signature {actual!r}"
            )
    assert not mismatches, f"{path}:\n" + "\n".join(mismatches)


@pytest.mark.parametrize(
    "estimator",
    [
        getattr(skae, name)
        for name in MODULES["skae"]
        if name[0].isupper() and name.startswith(("Autoencoder", "Denoising", "Var"))
    ],
    ids=lambda cls: cls.__name__,
)
def test_fill_doc_left_no_placeholder(estimator):
    doc = estimator.__doc__
    assert "{" + "common_" not in doc
    # The shared fragments keep numpydoc's indentation once filled in.
    sections = NumpyDocString(inspect.getdoc(estimator))
    documented = {name for name, _ in _documented_parameters(estimator)}
    assert documented == set(_signature(estimator).parameters) - {"self"}
    assert [attr.name for attr in sections["Attributes"]][-1] == "feature_names_in_"
