#!/usr/bin/python3
"""Reference numbers for the linear-probe test: scikit-learn's LogisticRegression (lbfgs) on
deterministic synthetic features.

Writes, next to each other in test/fixtures/:
  probe-features.bin   the features and labels, little-endian, in this order:
                       train x float32 [n_train, dim], test x float32 [n_test, dim],
                       train y int32 [n_train], test y int32 [n_test]
  probe-sklearn.json   the layout of the .bin, and per problem (6-class multinomial; binary =
                       class parity) and per C: sklearn's train/test accuracy, the Frobenius norm
                       of coef_, intercept_, n_iter_, and the objective
                       sum_i log-loss_i + ||coef_||^2 / (2C) at sklearn's solution.

The features are Gaussian clusters with anisotropic, correlated noise, sized so the classes
overlap (test accuracy well below 100%, and different for different C). They are drawn once with
numpy's PCG64 generator (seed below) and stored, so the TypeScript test reads the same float32
values sklearn saw (sklearn fits on their float64 conversion).

Run from the repository root with Debian's python3-sklearn:
    /usr/bin/python3 bench/eval/sklearn_reference.py
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

SEED = 20240601
K = 6
DIM = 24
N_TRAIN = 1200
N_TEST = 600
CS = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
MAX_ITER = 1000  # the CLIP paper's setting; every fit below converges well within it

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures")


def make_data():
    rng = np.random.default_rng(SEED)
    means = rng.standard_normal((K, DIM)) * 0.12
    # noise with a random covariance: some directions much noisier than others
    scales = np.exp(rng.uniform(-1.0, 1.0, DIM))
    mix = rng.standard_normal((DIM, DIM)) / np.sqrt(DIM) * scales[:, None]
    offset = rng.standard_normal(DIM) * 0.5  # features not centred, as CLIP's are not

    def draw(n):
        y = np.arange(n) % K
        rng.shuffle(y)
        x = means[y] + rng.standard_normal((n, DIM)) @ mix + offset
        return x.astype(np.float32), y.astype(np.int32)

    xtr, ytr = draw(N_TRAIN)
    xte, yte = draw(N_TEST)
    return xtr, ytr, xte, yte


def objective(clf, x, y, C):
    """sklearn's lbfgs objective at its solution: summed log-loss + ||coef||^2 / (2C)."""
    x = x.astype(np.float64)
    scores = x @ clf.coef_.T + clf.intercept_
    if clf.coef_.shape[0] == 1:  # binary: log(1 + exp(-s)) for y = 1, log(1 + exp(s)) for y = 0
        s = scores[:, 0]
        sign = np.where(y == clf.classes_[1], 1.0, -1.0)
        loss = np.logaddexp(0.0, -sign * s).sum()
    else:
        m = scores.max(axis=1, keepdims=True)
        lse = (m[:, 0] + np.log(np.exp(scores - m).sum(axis=1)))
        loss = (lse - scores[np.arange(len(y)), y]).sum()
    return float(loss + 0.5 / C * np.sum(clf.coef_ ** 2))


def fit_all(xtr, ytr, xte, yte):
    out = []
    for C in CS:
        clf = LogisticRegression(C=C, solver="lbfgs", max_iter=MAX_ITER)
        clf.fit(xtr.astype(np.float64), ytr)
        out.append({
            "C": C,
            "trainAccuracy": float(clf.score(xtr.astype(np.float64), ytr)),
            "testAccuracy": float(clf.score(xte.astype(np.float64), yte)),
            "coefNorm": float(np.linalg.norm(clf.coef_)),
            "intercept": [float(v) for v in clf.intercept_],
            "nIter": int(np.max(clf.n_iter_)),
            "objective": objective(clf, xtr, ytr, C),
        })
    return out


def main():
    xtr, ytr, xte, yte = make_data()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "probe-features.bin"), "wb") as f:
        for a in (xtr, xte, ytr, yte):
            f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
    bin_ytr = (ytr % 2).astype(np.int32)
    bin_yte = (yte % 2).astype(np.int32)
    doc = {
        "script": "bench/eval/sklearn_reference.py",
        "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
        "seed": SEED,
        "layout": {
            "file": "probe-features.bin",
            "byteOrder": "little",
            "dim": DIM,
            "nTrain": N_TRAIN,
            "nTest": N_TEST,
            "order": ["trainX float32", "testX float32", "trainY int32", "testY int32"],
        },
        "estimator": f"LogisticRegression(C=C, solver='lbfgs', max_iter={MAX_ITER}), other parameters default",
        "problems": {
            "multinomial": {"numClasses": K, "labels": "y", "fits": fit_all(xtr, ytr, xte, yte)},
            "binary": {"numClasses": 2, "labels": "y % 2", "fits": fit_all(xtr, bin_ytr, xte, bin_yte)},
        },
    }
    with open(os.path.join(OUT, "probe-sklearn.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    for name, p in doc["problems"].items():
        for r in p["fits"]:
            print(f"{name:12s} C={r['C']:<8g} train {r['trainAccuracy']:.4f} test {r['testAccuracy']:.4f} "
                  f"|coef| {r['coefNorm']:.4f} iters {r['nIter']}")


if __name__ == "__main__":
    main()
