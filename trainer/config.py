"""Typed configs: the model, data and training code take these, never the CLI's namespace.

Model configs are small JSON files (`trainer/model_configs/NAME.json`) or any JSON file with
the same fields: ``{"embed_dim": D, "vision": {...}, "text": {...}}``. A vision tower whose
`layers` is a list of four ints is CLIP's modified ResNet; an int is a ViT.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from runtime.cli import option

CONFIG_DIR = Path(__file__).parent / "model_configs"
CONTEXT_LENGTH = 77
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class VisionConfig:
    image_size: int = 224
    layers: int | tuple[int, ...] = 12
    width: int = 768
    heads: int = 12
    patch_size: int = 32  # ViT only
    mlp_ratio: float = 4.0

    @property
    def is_resnet(self) -> bool:
        return isinstance(self.layers, tuple)


@dataclass(frozen=True)
class TextConfig:
    context_length: int = CONTEXT_LENGTH
    vocab_size: int = 49152
    width: int = 512
    layers: int = 12
    heads: int = 8
    mlp_ratio: float = 4.0


@dataclass(frozen=True)
class ModelConfig:
    embed_dim: int = 512
    vision: VisionConfig = field(default_factory=VisionConfig)
    text: TextConfig = field(default_factory=TextConfig)
    quick_gelu: bool = False  # OpenAI's original checkpoints used QuickGELU; GELU otherwise
    name: str = "custom"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def with_vocab_size(self, vocab_size: int) -> ModelConfig:
        """The same model with the text embedding sized for a given tokenizer."""
        return dataclasses.replace(self, text=dataclasses.replace(self.text, vocab_size=vocab_size))

    @classmethod
    def from_dict(cls, data: dict, name: str = "custom") -> ModelConfig:
        vision = dict(data.get("vision", {}))
        if isinstance(vision.get("layers"), list):
            vision["layers"] = tuple(vision["layers"])
        return cls(
            embed_dim=int(data["embed_dim"]),
            vision=VisionConfig(**vision),
            text=TextConfig(**data.get("text", {})),
            quick_gelu=bool(data.get("quick_gelu", False)),
            name=str(data.get("name", name)),
        )


def available_models() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_model_config(name_or_file: str) -> ModelConfig:
    """A bundled config by name (`tiny`, `ViT-B-32`, ...) or a JSON file path."""
    path = Path(name_or_file)
    if not path.suffix == ".json" or not path.exists():
        path = CONFIG_DIR / f"{name_or_file}.json"
    if not path.exists():
        raise ValueError(
            f"unknown model {name_or_file!r}: not a JSON file, and not one of {available_models()}"
        )
    return ModelConfig.from_dict(json.loads(path.read_text()), name=path.stem)


@dataclass(frozen=True)
class DataConfig:
    """Where the samples come from and how they are cut into batches (per rank)."""

    spec: str
    batch_size: int = 256  # per rank
    image_size: int = 224
    workers: int = 2
    train: bool = True  # random-resized-crop + shuffle; otherwise resize + center crop
    resampled: bool = False
    num_samples: int | None = None  # an epoch's size; None: sizes.json or a count
    shuffle_buffer: int = 2000
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    balance_t: float | None = None  # re-draw a balanced sample each epoch (trainer.balance)
    balance_counts: str | None = None  # curate's queries_counts.parquet; None: count the pool

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.workers < 0 or self.image_size < 1:
            raise ValueError("batch_size and image_size must be >= 1, workers >= 0")
        if self.num_samples is not None and self.num_samples < 1:
            raise ValueError("--train-num-samples must be >= 1")
        if self.balance_t is not None:
            if not self.balance_t > 0:
                raise ValueError("--balance-t must be > 0")
            if self.num_samples is not None or self.resampled:
                raise ValueError(
                    "--train-num-samples is refused with --balance-t: "
                    "an epoch is one pass over that epoch's draw"
                )
        elif self.balance_counts is not None:
            raise ValueError("--balance-counts needs --balance-t")


@dataclass(frozen=True)
class TrainConfig:
    """Everything the loop needs besides the model and the data. Fields declared with `option`
    are also `trainer train` flags (`--grad-checkpointing`, ...)."""

    output: str = option()
    epochs: int = option(1)
    lr: float = option(5e-4)
    wd: float = option(0.2)
    warmup: int = option(500)
    precision: str = option(
        "fp32", flag_default=None, choices=PRECISIONS, help="default: bf16 on GPU, fp32 on CPU"
    )
    grad_checkpointing: bool = option(False, switch=True)
    accum_freq: int = option(1)
    torchcompile: bool = option(False, switch=True)
    keep_checkpoints: int = option(3)
    save_every: int = option(1000, help="steps between checkpoints")
    log_every: int = option(10, help="steps between metrics lines")
    eval_every: int = option(0, help="steps; 0 = at the end only")
    resume: str | None = option(None, help="latest | FILE")
    seed: int = option(0)
    device: str = option("auto")
    zeroshot_images: str | None = option(None)
    val_data: str | None = option(None)
    # None: a bar only when stderr is a terminal
    progress: bool | None = option(None, switch=True, negatable=True)
    tensorboard: bool = option(False, switch=True)
    # stop early (benchmarks); the schedule keeps its length
    max_steps: int | None = option(None, type=int, help="stop early; schedule unchanged")

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be fp32, bf16 or fp16, not {self.precision!r}")
        for name in ("epochs", "accum_freq", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.warmup < 0 or self.save_every < 0 or self.eval_every < 0:
            raise ValueError("warmup, save_every and eval_every must be >= 0")
