"""Hand-written gradients and backward passes, right and with the typical mistakes, for the
tests of ``sd.verify`` with code, ``sd.verify_vjp``, ``assert_vjp`` and ``symdiff verify
--code``: plain numpy, as a student writes them (cs231n style: ``forward`` returns
``(out, cache)``, ``backward(dout, cache)`` the gradients in the forward's parameter
order). Each mistake function is named after its mistake.

The forwards here use what numpy dispatch on Nodes offered first (``@``, ufuncs,
``.sum``/``.mean`` with axis and keepdims, ``.reshape``, ``.T``); the ``*_numpy`` ones are
the same models written with ``np.mean``, ``np.var``, ``np.logaddexp``, ``.max`` and
integer-array indexing, which need the numpy-dispatch, shapes, elementwise and gather work
of issue 14.
"""
import numpy as np


# ---- logistic regression: gradient code ------------------------------------------------

def logistic_loss(w, X, t):
    return np.log(1 + np.exp(-t * (X @ w))).mean()


def logistic_loss_numpy(w, X, t):
    return np.mean(np.logaddexp(0.0, -t * (X @ w)))


def logistic_grad(w, X, t):
    s = 1 / (1 + np.exp(t * (X @ w)))
    return -(X.T @ (t * s)) / len(t)


def logistic_grad_missing_1_over_n(w, X, t):
    s = 1 / (1 + np.exp(t * (X @ w)))
    return -(X.T @ (t * s))


def logistic_grad_wrong_sign(w, X, t):
    s = 1 / (1 + np.exp(t * (X @ w)))
    return (X.T @ (t * s)) / len(t)


# ---- softmax cross-entropy with integer labels ---------------------------------------------

def softmax_loss(W, X, y):
    scores = X @ W
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    onehot = np.eye(W.shape[1])[y]            # y: integer labels, held as they are
    return -(log_probs * onehot).sum() / len(y)


def softmax_loss_numpy(W, X, y):
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(y)), y])


def _probs(W, X):
    scores = X @ W
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_grad(W, X, y):
    p = _probs(W, X)
    p[np.arange(len(y)), y] -= 1
    return X.T @ p / len(y)


def softmax_grad_missing_1_over_n(W, X, y):
    p = _probs(W, X)
    p[np.arange(len(y)), y] -= 1
    return X.T @ p


def softmax_grad_forgot_the_labels(W, X, y):
    return X.T @ _probs(W, X) / len(y)


# ---- multiclass SVM hinge loss -------------------------------------------------------------

def svm_loss(W, X, y, reg):
    scores = X @ W
    onehot = np.eye(W.shape[1])[y]
    correct = (scores * onehot).sum(axis=1, keepdims=True)
    margins = np.maximum(0, scores - correct + 1) * (1 - onehot)
    return margins.sum() / len(y) + reg * (W * W).sum()


def _svm_binary(W, X, y):
    n = len(y)
    scores = X @ W
    correct = scores[np.arange(n), y][:, None]
    binary = (scores - correct + 1 > 0).astype(float)
    binary[np.arange(n), y] = 0
    binary[np.arange(n), y] = -binary.sum(axis=1)
    return binary


def svm_grad(W, X, y, reg):
    return X.T @ _svm_binary(W, X, y) / len(y) + 2 * reg * W


def svm_grad_missing_1_over_n(W, X, y, reg):
    return X.T @ _svm_binary(W, X, y) + 2 * reg * W


def svm_grad_regularizer_without_2(W, X, y, reg):
    return X.T @ _svm_binary(W, X, y) / len(y) + reg * W


# ---- affine layer --------------------------------------------------------------------------

def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def affine_backward_missing_transpose(dout, cache):
    x, w, b = cache
    dx = (dout @ w).reshape(x.shape)          # w.T forgotten (w is square here)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


def affine_backward_keepdims(dout, cache):
    dx, dw, _ = affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=0, keepdims=True)   # db of shape (1, M)


def affine_backward_two_gradients(dout, cache):
    dx, dw, _ = affine_backward(dout, cache)
    return dx, dw


# ---- ReLU ----------------------------------------------------------------------------------

def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def relu_backward_missing_mask(dout, cache):
    return dout.copy()


# ---- batch normalization (training mode) -----------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d))
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    xhat = xc / std
    out = gamma * xhat + beta
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    return out, (xc, std, xhat, gamma)


def batchnorm_forward_numpy(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (x - mu, np.sqrt(var + eps), xhat, gamma)


def batchnorm_backward(dout, cache):
    xc, std, xhat, gamma = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dvar = (dxhat * xc).sum(axis=0) * -0.5 * std ** -3
    dmean = -dxhat.sum(axis=0) / std + dvar * -2 * xc.mean(axis=0)
    dx = dxhat / std + dvar * 2 * xc / n + dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_without_dvar(dout, cache):
    xc, std, xhat, gamma = cache
    n = dout.shape[0]
    dxhat = dout * gamma
    dmean = -dxhat.sum(axis=0) / std
    dx = dxhat / std + dmean / n              # the dvar term dropped
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


# ---- layer normalization ---------------------------------------------------------------------

def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    std = np.sqrt((xc ** 2).mean(axis=1, keepdims=True) + eps)
    xhat = xc / std
    return gamma * xhat + beta, (xhat, std, gamma)


def layernorm_backward(dout, cache):
    xhat, std, gamma = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_backward_without_xhat_term(dout, cache):
    xhat, std, gamma = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


# ---- a vanilla RNN step ----------------------------------------------------------------------

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_step_backward_missing_transpose(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_step_backward_tanh_derivative(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h)                # 1 - tanh, not 1 - tanh**2
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
