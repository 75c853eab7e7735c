"""Logistic-regression engines for the SentEval transfer protocol.

Both engines answer one question, :meth:`fit_predict`: for each :class:`FitGroup` (a set of training
rows and a grid of regularisation values) train one model per value and predict the group's
``predict`` rows. The protocol (:mod:`gradparadigm.evaluation.transfer`) builds the groups: the
folds, the grid search and the refits.

``torch`` -- SentEval's ``PyTorchClassifier``/``MLP`` with ``nhid=0`` (``senteval/tools/classifier.py``),
the same algorithm step for step:

- ``nn.Linear(dim, nclasses)`` initialised right after ``torch.manual_seed(seed)`` (every classifier
  starts from the same weights), cross-entropy averaged over the batch (SentEval sets
  ``size_average = False`` on the loss object after construction, which PyTorch >= 0.4.1 ignores: the
  mean is what SentEval computes under any PyTorch of the SimCSE era and later);
- Adam (lr 1e-3) or, in the prototyping settings, RMSprop (lr 1e-2), torch's defaults otherwise, the
  L2 strength as the optimizer's ``weight_decay`` on weight and bias;
- an "epoch" is ``epoch_size`` passes, each over a fresh ``np.random.permutation`` of the training rows
  in batches of ``batch_size``; the NumPy stream is seeded with ``seed`` when the classifier is made,
  so with ``validation_split`` its first draw picks the held-out rows (the first
  ``int(validation_split * n)`` of a permutation);
- after each epoch the accuracy on the validation rows is measured; a strictly better one keeps a copy
  of the model, any other adds one to a counter that is never reset, and training stops once the
  counter has reached ``tenacity`` at a non-improving epoch, or when ``nepoch > max_epoch``; the
  best copy is the model.

What differs is only how it is computed: all models of one call train in lockstep as one batched
tensor program (the grid values of a group share their batches, since SentEval reseeds every
classifier identically; groups with different row counts follow their own permutation streams), with
the gradient of the softmax cross-entropy and the optimizer update written out in the form
``torch.optim`` uses. One SentEval fit costs a Python loop of thousands of tiny steps; batching the
~400 fits of a cross-validated task makes the full protocol affordable on a CPU. The test suite
checks the batched trainer against a plain ``nn.Linear`` + ``torch.optim`` loop.

``sklearn`` -- SentEval's ``usepytorch=False`` path: ``LogisticRegression(C=reg, random_state=seed)``
fitted on all training rows (no held-out part), here with the deterministic L-BFGS solver
(scikit-learn's default since 0.22; multinomial for TREC).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Literal, Protocol, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

# torch.optim defaults, as SentEval's get_optimizer("adam") / ("rmsprop") leaves them
ADAM_LR, ADAM_BETAS, RMSPROP_LR, RMSPROP_ALPHA, EPS = 1e-3, (0.9, 0.999), 1e-2, 0.99, 1e-8

GridKind = Literal["inner_kfold", "kfold", "split"]

# senteval/tools/validation.py: the pytorch classifier searches weight decay 10^-5..10^-2 in every
# classifier; the sklearn path searches C = 2^-2..2^3 (InnerKFold, Split) and 2^-1..2^5 (KFold).
TORCH_L2_GRID = tuple(10.0**t for t in range(-5, -1))
SKLEARN_C_GRIDS: dict[str, tuple[float, ...]] = {
    "inner_kfold": tuple(2.0**t for t in range(-2, 4)),
    "kfold": tuple(2.0**t for t in range(-1, 6)),
    "split": tuple(2.0**t for t in range(-2, 4)),
}


@dataclass(frozen=True)
class FitGroup:
    """Models that train on the same rows, one per regularisation value in ``regs``.

    ``train`` and ``predict`` index the feature matrix; ``train`` is in the order SentEval hands the
    rows to its classifier (the order decides the batches). ``valid`` is SentEval's
    ``validation_data`` (early stopping on those rows); ``None`` means SentEval's
    ``validation_split``: the torch engine holds out part of ``train``. The sklearn engine ignores
    both, as SentEval's sklearn path does.
    """

    train: np.ndarray
    predict: np.ndarray
    regs: tuple[float, ...]
    valid: np.ndarray | None = None


class Engine(Protocol):
    name: str
    reg_name: str  # key of the chosen regularisation value in the results ("l2" or "C")

    def grid(self, kind: GridKind) -> tuple[float, ...]: ...

    def fit_predict(
        self, X: np.ndarray, y: np.ndarray, nclasses: int, groups: Sequence[FitGroup], desc: str = ""
    ) -> list[np.ndarray]: ...

    def describe(self) -> dict: ...


@dataclass
class TorchLogReg:
    """SentEval's PyTorch logistic regression (nhid 0), batched over many fits; see the module docstring."""

    optim: Literal["adam", "rmsprop"] = "adam"
    batch_size: int = 64
    tenacity: int = 5
    epoch_size: int = 4
    max_epoch: int = 200
    validation_split: float = 0.05
    seed: int = 1111
    # torch threads while training: the tensors are small, so a second thread gains little (~1.4x on
    # an idle 2-core machine) and loses a lot (~10x) when another process holds a core; None keeps
    # torch's setting
    threads: int | None = 1
    progress: bool = True

    name = "torch"
    reg_name = "l2"

    def grid(self, kind: GridKind) -> tuple[float, ...]:
        return TORCH_L2_GRID

    def describe(self) -> dict:
        settings = {k: v for k, v in asdict(self).items() if k != "progress"}
        lr = ADAM_LR if self.optim == "adam" else RMSPROP_LR
        return {
            "engine": self.name,
            "classifier": f"pytorch-LogReg-{self.optim}-bs{self.batch_size}",
            "lr": lr,
            "l2_grid": list(TORCH_L2_GRID),
            **settings,
        }

    def fit_predict(
        self, X: np.ndarray, y: np.ndarray, nclasses: int, groups: Sequence[FitGroup], desc: str = ""
    ) -> list[np.ndarray]:
        trainer = _LockstepTrainer(
            self,
            torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),
            torch.from_numpy(np.asarray(y, dtype=np.int64)),
            nclasses,
            groups,
        )
        before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            trainer.train(desc)
            return trainer.predict()
        finally:
            torch.set_num_threads(before)


class _LockstepTrainer:
    """All models of one :meth:`TorchLogReg.fit_predict` call, trained side by side.

    Parameters live in tensors of shape ``[slots, R*C, dim]`` (weights, ``nn.Linear``'s layout) and
    ``[slots, R*C]`` (bias): one slot per group still training, its R grid values stacked in the rows.
    A group leaves the tensors (compaction) once all its models have stopped.
    """

    def __init__(self, cfg: TorchLogReg, X: torch.Tensor, y: torch.Tensor, nclasses: int, groups: Sequence[FitGroup]):
        if cfg.optim not in ("adam", "rmsprop"):
            raise ValueError(f"optim must be 'adam' or 'rmsprop', got {cfg.optim!r}")
        nregs = {len(g.regs) for g in groups}
        if len(nregs) != 1:
            raise ValueError("every group of one call must have the same number of regularisation values")
        self.cfg, self.X, self.y, self.C = cfg, X, y, nclasses
        self.groups = list(groups)
        self.R = nregs.pop()
        G, D = len(groups), X.shape[1]

        # Per group: its NumPy stream (seeded as SentEval seeds each classifier), train and valid rows.
        self.rngs, self.train_rows, self.valid_rows = [], [], []
        for g in self.groups:
            rng = np.random.RandomState(cfg.seed)
            train = np.asarray(g.train, dtype=np.int64)
            if g.valid is None:
                perm = rng.permutation(len(train))
                n_valid = int(cfg.validation_split * len(train))
                if n_valid == 0:
                    raise ValueError(f"validation_split {cfg.validation_split} of {len(train)} rows holds out no row")
                train, valid = train[perm[n_valid:]], train[perm[:n_valid]]
            else:
                valid = np.asarray(g.valid, dtype=np.int64)
            if len(train) == 0 or len(valid) == 0:
                raise ValueError("a group has no training or no validation rows")
            self.rngs.append(rng)
            self.train_rows.append(train)
            self.valid_rows.append(valid)

        # nn.Linear's initialisation right after torch.manual_seed(seed), without touching the global RNG.
        gen = torch.Generator().manual_seed(cfg.seed)
        w0 = torch.empty(nclasses, D)
        torch.nn.init.kaiming_uniform_(w0, a=math.sqrt(5), generator=gen)
        b0 = torch.empty(nclasses)
        bound = 1 / math.sqrt(D)
        torch.nn.init.uniform_(b0, -bound, bound, generator=gen)
        self.W = w0.repeat(self.R, 1).unsqueeze(0).repeat(G, 1, 1).contiguous()  # [G, R*C, D]
        self.b = b0.repeat(self.R).unsqueeze(0).repeat(G, 1).contiguous()  # [G, R*C]
        regs = torch.tensor([list(g.regs) for g in self.groups], dtype=torch.float32)  # [G, R]
        self.wd = regs.repeat_interleave(nclasses, dim=1)  # [G, R*C]
        self.state = [torch.zeros_like(t) for t in (self.W, self.b)]
        if cfg.optim == "adam":
            self.state += [torch.zeros_like(t) for t in (self.W, self.b)]
        self.steps = torch.zeros(G, dtype=torch.float64)
        self.slots = np.arange(G)  # slot -> group id

        self.best_W = self.W.clone()
        self.best_b = self.b.clone()
        self.best_acc = np.full((G, self.R), -1.0)
        self.bad_epochs = np.zeros((G, self.R), dtype=np.int64)
        self.stopped = np.zeros((G, self.R), dtype=bool)
        self.nepoch = 0
        self.epochs_trained = np.zeros((G, self.R), dtype=np.int64)  # SentEval's nepoch when each fit ended

    # -- one optimiser step on the slots ``sel`` (all slots when None) ------------------------------
    def _step(self, rows: torch.Tensor, row_weight: torch.Tensor | None, sel: torch.Tensor | None) -> None:
        cfg, C = self.cfg, self.C
        params = [self.W, self.b] if sel is None else [self.W[sel], self.b[sel]]
        state = self.state if sel is None else [s[sel] for s in self.state]
        wd = self.wd if sel is None else self.wd[sel]
        W, b = params
        S, B = rows.shape
        Xb = self.X.index_select(0, rows.reshape(-1)).view(S, B, -1)  # [S, B, D]
        logits = torch.baddbmm(b.unsqueeze(1), Xb, W.transpose(1, 2)).view(S, B, self.R, C)
        probs = (logits - logits.amax(-1, keepdim=True)).exp_()  # softmax over the C classes
        probs.div_(probs.sum(-1, keepdim=True))
        probs.scatter_add_(
            -1, self.y[rows].view(S, B, 1, 1).expand(S, B, self.R, 1), torch.full((S, B, self.R, 1), -1.0)
        )
        # d(mean cross-entropy)/d(logits) = (softmax - onehot) / batch size
        if row_weight is None:
            probs.mul_(1.0 / B)
        else:
            probs.mul_(row_weight.view(S, B, 1, 1))
        dlogits = probs.view(S, B, self.R * C)
        grads = [torch.bmm(dlogits.transpose(1, 2), Xb), dlogits.sum(1)]
        grads = [g.add_(p * w) for g, p, w in zip(grads, params, (wd.unsqueeze(2), wd))]  # weight_decay
        if cfg.optim == "adam":
            # torch.optim.Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8), per-slot step counts
            steps = (self.steps if sel is None else self.steps[sel]) + 1
            if sel is None:
                self.steps += 1
            else:
                self.steps[sel] = steps
            step_size = (ADAM_LR / (1 - ADAM_BETAS[0] ** steps)).to(torch.float32)
            bc2_sqrt = (1 - ADAM_BETAS[1] ** steps).sqrt().to(torch.float32)
            for p, g, m, v in zip(params, grads, state[:2], state[2:]):
                shape = (-1,) + (1,) * (p.dim() - 1)
                m.lerp_(g, 1 - ADAM_BETAS[0])
                v.mul_(ADAM_BETAS[1]).addcmul_(g, g, value=1 - ADAM_BETAS[1])
                denom = (v.sqrt() / bc2_sqrt.view(shape)).add_(EPS)
                p.sub_((m / denom) * step_size.view(shape))
        else:
            # torch.optim.RMSprop (lr 1e-2, alpha 0.99, eps 1e-8, no momentum, not centred)
            for p, g, sq in zip(params, grads, state):
                sq.mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
                p.addcdiv_(g, sq.sqrt().add_(EPS), value=-RMSPROP_LR)
        if sel is not None:
            self.W[sel], self.b[sel] = W, b
            for full, part in zip(self.state, state):
                full[sel] = part

    def _one_pass(self) -> None:
        B = self.cfg.batch_size
        orders = [self.train_rows[g][self.rngs[g].permutation(len(self.train_rows[g]))] for g in self.slots]
        nbatches = np.array([math.ceil(len(o) / B) for o in orders])
        width = int(nbatches.max()) * B
        order = np.zeros((len(orders), width), dtype=np.int64)
        weight = np.zeros((len(orders), width), dtype=np.float32)
        for s, o in enumerate(orders):  # each batch's loss is the mean over its rows (the last may be short)
            order[s, : len(o)] = o
            full = len(o) // B * B
            weight[s, :full] = 1.0 / B
            weight[s, full : len(o)] = 1.0 / max(len(o) - full, 1)
        order_t, weight_t = torch.from_numpy(order), torch.from_numpy(weight)
        full_batches = (np.array([len(o) for o in orders]) // B) * B
        for i in range(int(nbatches.max())):
            cols = slice(i * B, (i + 1) * B)
            live = nbatches > i
            if live.all():
                exact = (full_batches >= (i + 1) * B).all()
                self._step(order_t[:, cols], None if exact else weight_t[:, cols], None)
            else:  # some groups have fewer batches per pass; they sit this step out
                sel = torch.from_numpy(np.flatnonzero(live))
                self._step(order_t[sel, cols], weight_t[sel, cols], sel)

    def _evaluate(self) -> None:
        R, C = self.R, self.C
        improved = np.zeros((len(self.slots), R), dtype=bool)
        for s, g in enumerate(self.slots):
            valid = self.valid_rows[g]
            logits = torch.addmm(self.b[s], self.X[valid], self.W[s].t()).view(len(valid), R, C)
            correct = (logits.argmax(-1) == self.y[valid].unsqueeze(1)).sum(0).numpy()
            acc = correct / len(valid)
            for r in range(R):
                if self.stopped[g, r]:
                    continue
                if acc[r] > self.best_acc[g, r]:
                    self.best_acc[g, r] = acc[r]
                    improved[s, r] = True
                else:
                    if self.bad_epochs[g, r] >= self.cfg.tenacity:
                        self.stopped[g, r] = True
                        self.epochs_trained[g, r] = self.nepoch
                    self.bad_epochs[g, r] += 1
        if improved.any():
            slots = torch.from_numpy(np.flatnonzero(improved.any(1)))
            groups = torch.from_numpy(self.slots[slots.numpy()])
            cols = torch.from_numpy(np.repeat(improved[slots.numpy()], C, axis=1))
            self.best_W[groups] = torch.where(cols.unsqueeze(2), self.W[slots], self.best_W[groups])
            self.best_b[groups] = torch.where(cols, self.b[slots], self.best_b[groups])

    def _compact(self) -> None:
        keep = ~self.stopped[self.slots].all(1)
        if keep.all():
            return
        sel = torch.from_numpy(np.flatnonzero(keep))
        self.W, self.b, self.wd, self.steps = self.W[sel], self.b[sel], self.wd[sel], self.steps[sel]
        self.state = [s[sel] for s in self.state]
        self.slots = self.slots[keep]

    def train(self, desc: str) -> None:
        cfg = self.cfg
        max_rounds = cfg.max_epoch // cfg.epoch_size + 1
        with tqdm(total=max_rounds, desc=desc or "logreg", unit="epoch", leave=False, disable=not cfg.progress) as bar:
            while len(self.slots) and self.nepoch <= cfg.max_epoch:
                for _ in range(cfg.epoch_size):
                    self._one_pass()
                self.nepoch += cfg.epoch_size
                self._evaluate()
                self._compact()
                bar.update(1)
                bar.set_postfix(training=int((~self.stopped).sum()))
        self.epochs_trained[~self.stopped] = self.nepoch  # ended by max_epoch
        logger.debug(
            "%s: %d models, %.1f epochs on average, %d at most",
            desc,
            self.stopped.size,
            self.epochs_trained.mean(),
            self.epochs_trained.max(),
        )

    def predict(self) -> list[np.ndarray]:
        out = []
        for g, group in enumerate(self.groups):
            rows = np.asarray(group.predict, dtype=np.int64)
            logits = torch.addmm(self.best_b[g], self.X[rows], self.best_W[g].t()).view(len(rows), self.R, self.C)
            out.append(logits.argmax(-1).t().numpy().astype(np.int64))
        return out


@dataclass
class SklearnLogReg:
    """SentEval's scikit-learn path: ``LogisticRegression(C=reg, random_state=seed)``, L-BFGS."""

    seed: int = 1111
    max_iter: int = 100
    tol: float = 1e-4
    blas_threads: int | None = 1  # one BLAS thread per fit: faster than oversubscribing a shared small machine
    progress: bool = True

    name = "sklearn"
    reg_name = "C"

    def grid(self, kind: GridKind) -> tuple[float, ...]:
        return SKLEARN_C_GRIDS[kind]

    def describe(self) -> dict:
        return {
            "engine": self.name,
            "classifier": "sklearn-LogReg-lbfgs",
            "solver": "lbfgs",
            "max_iter": self.max_iter,
            "tol": self.tol,
            "seed": self.seed,
            "blas_threads": self.blas_threads,
            "C_grid": {k: list(v) for k, v in SKLEARN_C_GRIDS.items()},
        }

    def fit_predict(
        self, X: np.ndarray, y: np.ndarray, nclasses: int, groups: Sequence[FitGroup], desc: str = ""
    ) -> list[np.ndarray]:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        out = []
        not_converged = 0
        total = sum(len(g.regs) for g in groups)
        with (
            threadpool_limits(limits=self.blas_threads),
            tqdm(total=total, desc=desc or "logreg", unit="fit", leave=False, disable=not self.progress) as bar,
        ):
            for group in groups:
                preds = []
                for C in group.regs:
                    clf = LogisticRegression(
                        C=C, solver="lbfgs", max_iter=self.max_iter, tol=self.tol, random_state=self.seed
                    )
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", ConvergenceWarning)
                        clf.fit(X[group.train], y[group.train])
                    not_converged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
                    preds.append(clf.predict(X[group.predict]))
                    bar.update(1)
                out.append(np.stack(preds).astype(np.int64))
        if not_converged:
            logger.info(
                "%s: L-BFGS stopped at max_iter=%d before tol in %d of %d fits",
                desc or "logreg",
                self.max_iter,
                not_converged,
                total,
            )
        return out
