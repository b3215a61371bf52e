"""Finite-difference cases for the ops of gcompile/optable_nn.py (merged into test_optable's table)."""
import numpy as np

RNG = np.random.default_rng(4321)


def r(*shape):
    return RNG.uniform(-1.5, 1.5, size=shape)


def distinct(*shape):
    n = int(np.prod(shape))
    return RNG.permutation(np.linspace(-2, 2, n)).reshape(shape)


def idx(high, *shape):
    return RNG.integers(0, high, size=shape)


_S2 = {"kernel": (2, 2), "strides": (2, 2)}
_S3 = {"kernel": (3, 3), "strides": (2, 1), "pads": (1, 0, 1, 1), "dilations": (1, 2)}

NN_CASES = {
    "conv2d": [((r(2, 3, 5, 5), r(4, 3, 3, 3)), {}),
               ((r(1, 2, 6, 5), r(3, 2, 3, 2)), {"strides": (2, 1), "pads": (1, 0, 1, 1)}),
               ((r(1, 2, 7, 7), r(2, 2, 2, 3)), {"dilations": (2, 2), "pads": (1, 1, 0, 0)}),
               ((r(2, 4, 5, 5), r(6, 2, 3, 3)), {"groups": 2, "strides": (2, 2), "pads": (1, 1, 1, 1)})],
    "conv2d_grad_input": [((r(2, 4, 3, 3), r(4, 3, 3, 3), r(2, 3, 5, 5)), {}),
                          ((r(2, 6, 3, 3), r(6, 2, 3, 3), r(2, 4, 6, 5)),
                           {"groups": 2, "strides": (2, 2), "pads": (1, 1, 1, 1)})],
    "conv2d_grad_weight": [((r(2, 3, 5, 5), r(2, 4, 3, 3), r(4, 3, 3, 3)), {}),
                           ((r(2, 4, 6, 5), r(2, 6, 3, 3), r(6, 2, 3, 3)),
                            {"groups": 2, "strides": (2, 2), "pads": (1, 1, 1, 1)})],
    "max_pool2d": [((distinct(2, 2, 4, 4),), _S2), ((distinct(1, 2, 5, 6),), _S3)],
    "maxpool_gather": [((r(2, 2, 4, 4), distinct(2, 2, 4, 4)), _S2),
                       ((r(1, 2, 5, 6), distinct(1, 2, 5, 6)), _S3)],
    "maxpool_scatter": [((r(2, 2, 2, 2), distinct(2, 2, 4, 4)), _S2),
                        ((r(1, 2, 3, 3), distinct(1, 2, 5, 6)), _S3)],
    "avg_pool2d": [((r(2, 2, 4, 4),), _S2), ((r(1, 2, 5, 6),), _S3),
                   ((r(1, 2, 5, 6),), dict(_S3, count_include_pad=True))],
    "avgpool_scatter": [((r(2, 2, 2, 2), r(2, 2, 4, 4)), _S2),
                        ((r(1, 2, 3, 3), r(1, 2, 5, 6)), _S3),
                        ((r(1, 2, 3, 3), r(1, 2, 5, 6)), dict(_S3, count_include_pad=True))],
    "gather": [((r(5, 3), idx(5, 2, 4)), {}), ((r(3, 5, 2), np.array([4, 0, -1, 4])), {"axis": 1})],
    "scatter_add": [((r(2, 4, 3), idx(5, 2, 4), r(5, 3)), {}),
                    ((r(3, 4, 2), np.array([4, 0, -1, 4]), r(3, 5, 2)), {"axis": 1})],
    "concat": [((r(2, 3), r(2, 2)), {"axis": 1}), ((r(1, 3), r(2, 3)), {}),
               ((r(2, 1, 2), r(2, 3, 2)), {"axis": -2})],
    "head_like": [((r(5, 3), r(2, 3)), {}), ((r(2, 5), r(2, 1)), {"axis": 1})],
    "tail_like": [((r(5, 3), r(2, 3)), {}), ((r(2, 5), r(2, 4)), {"axis": -1})],
    "pad_end_like": [((r(2, 3), r(5, 3)), {}), ((r(2, 1), r(2, 4)), {"axis": 1})],
    "pad_start_like": [((r(2, 3), r(5, 3)), {}), ((r(2, 1), r(2, 4)), {"axis": 1})],
    "bmatmul": [((r(2, 3, 4), r(4, 5)), {}), ((r(2, 1, 3, 4), r(3, 4, 2)), {}),
                ((r(3, 2), r(2, 2, 4)), {})],
    "matrix_transpose": [((r(2, 3, 4),), {}), ((r(3, 2),), {})],
}
