"""The hand-written numpy backprop of W2: the layers of *Deep Learning from Scratch*.

Affine, Sigmoid and SoftmaxWithLoss, each with ``forward`` and ``backward``,
written the way the book writes them (without its ``+ 1e-7`` inside the log,
as WORKLOADS.md specifies); the baseline the compiled gradient is timed against.

Examples
--------
>>> import numpy as np
>>> net = TwoLayerNet(np.eye(2), np.zeros(2), np.eye(2), np.zeros(2))
>>> loss, grads = net.loss_and_grads(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))
>>> round(float(loss), 6), sorted(grads)
(0.693147, ['W1', 'W2', 'b1', 'b2'])
"""
from __future__ import annotations

import numpy as np

__all__ = ["Affine", "Sigmoid", "SoftmaxWithLoss", "TwoLayerNet"]


class Affine:
    """``out = x @ W + b``; backward gives ``dx`` and keeps ``dW``, ``db``."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return dout @ self.W.T


class Sigmoid:
    """``out = 1 / (1 + exp(-x))``; backward ``dout * out * (1 - out)``."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class SoftmaxWithLoss:
    """Softmax then cross-entropy; backward ``(y - t) / batch``."""

    def __init__(self):
        self.y = self.t = None

    def forward(self, x, t):
        self.t = t
        e = np.exp(x - np.max(x, axis=1, keepdims=True))
        self.y = e / np.sum(e, axis=1, keepdims=True)
        return -np.sum(t * np.log(self.y)) / x.shape[0]

    def backward(self, dout=1.0):
        return (self.y - self.t) * dout / self.t.shape[0]


class TwoLayerNet:
    """Affine -> Sigmoid -> Affine -> SoftmaxWithLoss, as in the book (float64)."""

    def __init__(self, W1, b1, W2, b2):
        self.affine1, self.sigmoid, self.affine2 = Affine(W1, b1), Sigmoid(), Affine(W2, b2)
        self.last = SoftmaxWithLoss()

    def loss(self, x, t):
        """The forward pass alone."""
        return self.last.forward(self.affine2.forward(self.sigmoid.forward(self.affine1.forward(x))), t)

    def loss_and_grads(self, x, t):
        """Forward, then backprop through the layers: ``(loss, {name: gradient})``."""
        loss = self.loss(x, t)
        dout = self.last.backward(1.0)
        dout = self.affine2.backward(dout)
        dout = self.sigmoid.backward(dout)
        self.affine1.backward(dout)
        return loss, {"W1": self.affine1.dW, "b1": self.affine1.db,
                      "W2": self.affine2.dW, "b2": self.affine2.db}
