"""Which array library a graph runs on: numpy by default, else the one its feeds come from.

Every op's forward is written against the array API standard
(``forward(xp, *operands)``), so the same graph -- interpreted, or compiled by
:func:`gcompile.compile` -- runs on any library `array-api-compat
<https://data-apis.org/array-api-compat/>`_ knows: numpy, PyTorch tensors,
dask arrays (lazy and chunked: data larger than memory), CuPy, JAX.

numpy stays the zero-cost default: when every fed value is a numpy array, a
numpy scalar or a Python number, the namespace is ``numpy`` itself (not a
wrapper) and ``array_api_compat`` is not even imported.  Only when a feed is an
array of another library is the namespace asked of
``array_api_compat.array_namespace``.  Feeding arrays of two libraries (or
numpy arrays next to torch tensors) is a :class:`~gcompile.GraphError` naming
the inputs of each library: convert them first, e.g. with ``xp.asarray``.

Examples
--------
>>> import numpy as np
>>> namespace_of([("x", np.ones(3)), ("n", 2.0)]) is np
True
>>> import dask.array as da
>>> namespace_of([("x", da.ones(3))]).__name__
'array_api_compat.dask.array'
>>> namespace_of([("x", da.ones(3)), ("w", np.ones(3))])
Traceback (most recent call last):
...
gcompile.errors.GraphError: feeds mix array libraries: dask for 'x'; numpy for 'w' (feed every input from one library)
"""
from __future__ import annotations

import numpy as np

from .errors import GraphError

__all__ = ["namespace_of", "is_foreign_array", "library_of", "device_of"]

#: Values that never make the namespace anything but numpy (checked by exact type first).
_NUMPY_KINDS = (np.ndarray, np.generic, bool, int, float, complex)


def is_foreign_array(value) -> bool:
    """True when ``value`` is an array of a library other than numpy (torch, dask, ...).

    Examples
    --------
    >>> import numpy as np
    >>> is_foreign_array(np.ones(2)), is_foreign_array(1.5), is_foreign_array("text")
    (False, False, False)
    """
    if isinstance(value, _NUMPY_KINDS):
        return False
    import array_api_compat

    return bool(array_api_compat.is_array_api_obj(value))


def library_of(value) -> str:
    """The name of the library an array comes from: ``"numpy"``, ``"torch"``, ``"dask"``...

    Examples
    --------
    >>> import numpy as np
    >>> library_of(np.ones(2)), library_of(np.float64(1.0))
    ('numpy', 'numpy')
    """
    return type(value).__module__.split(".", 1)[0]


def device_of(value):
    """The device of a foreign array as text (``"cpu"``, ``"cuda:0"``), for cache keys.

    Examples
    --------
    >>> import dask.array as da
    >>> device_of(da.ones(2))
    'cpu'
    """
    import array_api_compat

    try:
        return str(array_api_compat.device(value))
    except Exception:  # noqa: BLE001 -- a library without devices runs where it runs
        return ""


def namespace_of(items, xp=None):
    """The array namespace for values ``[(node, value), ...]``: ``xp`` if given, else from them.

    Parameters
    ----------
    items : iterable of (node, value)
        The values a graph reads (its fed inputs), with the nodes that read them.
    xp : module, optional
        An explicit namespace: returned as is, nothing is checked.

    Returns
    -------
    module
        ``numpy`` when no value is a foreign array, else the ``array_api_compat``
        namespace of the foreign arrays.

    Raises
    ------
    GraphError
        When the values come from two libraries (numpy arrays count; numpy
        scalars and Python numbers do not), naming the inputs of each.

    Examples
    --------
    >>> import numpy as np
    >>> namespace_of([("x", 1.0)]) is np, namespace_of([], xp=np) is np
    (True, True)
    """
    if xp is not None:
        return xp
    items = list(items)
    foreign = [(node, v) for node, v in items
               if not isinstance(v, _NUMPY_KINDS) and is_foreign_array(v)]
    if not foreign:
        return np
    by_library = {}
    for node, value in items:
        if isinstance(value, np.ndarray) and value.ndim:
            by_library.setdefault("numpy", []).append(node)
        elif not isinstance(value, _NUMPY_KINDS):
            by_library.setdefault(library_of(value), []).append(node)
    if len(by_library) > 1:
        parts = "; ".join(f"{lib} for " + ", ".join(repr(n) for n in nodes)
                          for lib, nodes in by_library.items())
        raise GraphError(f"feeds mix array libraries: {parts} (feed every input from one library)")
    import array_api_compat

    try:
        return array_api_compat.array_namespace(*[v for _, v in foreign])
    except TypeError as err:
        nodes = ", ".join(repr(n) for n, _ in foreign)
        raise GraphError(f"no array namespace for the feeds of {nodes}: {err}") from None
