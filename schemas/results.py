"""The trainer's records: one `metrics.jsonl` line and the evaluation result objects."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricsRecord:
    """One line of `metrics.jsonl`; `evals` holds evaluation results when run at that step
    and is flattened into the line (`zeroshot_top1`, `val_image_to_text_r1`, ...)."""

    step: int
    samples_seen: int
    epoch: int
    loss: float
    lr: float
    logit_scale: float
    samples_per_s: float
    data_time_frac: float
    evals: dict[str, float] = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        out = {
            "step": self.step,
            "samples_seen": self.samples_seen,
            "epoch": self.epoch,
            "loss": self.loss,
            "lr": self.lr,
            "logit_scale": self.logit_scale,
            "samples_per_s": self.samples_per_s,
            "data_time_frac": self.data_time_frac,
        }
        out.update(self.evals)
        return out

    @classmethod
    def from_json_dict(cls, data: dict) -> MetricsRecord:
        base = {k: data[k] for k in _METRIC_FIELDS}
        evals = {k: v for k, v in data.items() if k not in _METRIC_FIELDS}
        return cls(**base, evals=evals)


_METRIC_FIELDS = (
    "step",
    "samples_seen",
    "epoch",
    "loss",
    "lr",
    "logit_scale",
    "samples_per_s",
    "data_time_frac",
)


@dataclass(frozen=True)
class ZeroshotResult:
    """What `trainer zeroshot` prints: top-1/top-5 accuracy as fractions over `n` images,
    top-1 accuracy per class (None for a class without images) and its mean over the classes
    that have images (mean per-class recall, the balanced accuracy some benchmarks report)."""

    top1: float
    top5: float
    n: int
    classes: int
    per_class_accuracy: dict[str, float | None] = field(default_factory=dict)
    mean_per_class_recall: float = 0.0


@dataclass(frozen=True)
class RetrievalResult:
    """What `trainer retrieval` prints: recall@K as fractions over `n` pairs."""

    image_to_text_r1: float
    image_to_text_r5: float
    image_to_text_r10: float
    text_to_image_r1: float
    text_to_image_r5: float
    text_to_image_r10: float
    n: int
