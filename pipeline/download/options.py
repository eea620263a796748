"""Flags of `pipeline download` and the picklable config every worker receives.

`download_flags(manifest=True)` declares the flags (`pipeline run` adds them
without `--manifest/--url-col/--caption-col`, which belong to curate there);
`config_from_args(args)` turns parsed flags into a frozen `DownloadConfig`.
"""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass

from pipeline.download.netpolicy import parse_resolve
from pipeline.download.tls import read_ca_bundle
from runtime import cli, storage
from runtime.cli import option

USER_AGENT = "openwit/0.1 (+https://github.com/openwit/openwit; image-text dataset builder)"
ROBOTS_TOKEN = "openwit"
RESIZE_MODES = ("no", "border", "keep_ratio", "keep_ratio_largest", "center_crop")
ENCODE_FORMATS = ("jpg", "png", "webp")


def read_domains(path: str | None) -> tuple[str, ...]:
    """Domains of an exclude file: one a line, `#` comments, lower-cased, sorted."""
    if not path:
        return ()
    text = storage.read_text(path)
    lines = (line.split("#", 1)[0].strip().lower().lstrip(".") for line in text.splitlines())
    return tuple(sorted({line for line in lines if line}))


def _read_ca_bundle(path: str | None) -> str | None:
    return read_ca_bundle(path) if path else None


def _directives(text: str) -> tuple[str, ...]:
    return tuple(d.strip().lower() for d in text.split(",") if d.strip())


@dataclass(frozen=True)
class DownloadConfig:
    """Everything a shard worker needs; plain values only (pickled to every worker). Fields
    declared with `option` are also flags (`--image-size`, ...)."""

    output: str
    image_size: int = option(256)
    resize_mode: str = option("border", choices=RESIZE_MODES)
    encode_format: str = option("jpg", choices=ENCODE_FORMATS)
    encode_quality: int = option(95)
    shard_size: int = option(10000)
    min_image_size: int = option(0, help="shortest side; 0 = no limit")
    max_aspect_ratio: float = option(0.0, help="0 = no limit")
    timeout: float = option(10.0, help="seconds per connect/read; a whole attempt gets 3x this")
    retries: int = option(2, parse=lambda v: max(v, 0))
    max_bytes: int = option(20_000_000)
    per_host_connections: int = option(16)
    threads: int = option(64, help="concurrent fetches per shard")
    image_threads: int = option(
        0, help="images decoded/resized/encoded at once per worker process (0 = auto: the "
        "cores per local worker process, at least 1; 2-4 on other runners)",
    )  # fmt: skip
    max_redirects: int = option(5)
    allow_private_networks: bool = option(False, switch=True)
    allow_networks: tuple[str, ...] = option((), repeatable=True, metavar="CIDR", parse=tuple)
    resolve: tuple[str, ...] = option((), repeatable=True, metavar="HOST[:PORT]:IP", parse=tuple)
    robots_txt: bool = option(
        True, name="--no-robots-txt", switch=True, flag_default=False, parse=lambda v: not v
    )
    x_robots_optouts: tuple[str, ...] = option(
        ("noai", "noimageai"),
        flag_default="noai,noimageai",
        parse=_directives,
        help="X-Robots-Tag directives that opt an image out (comma-separated)",
    )
    near_dup_hamming: int = option(4)
    exclude_images: str | None = option(None, metavar="SRC")
    exclude_domains: tuple[str, ...] = option(
        (), flag_default=None, metavar="FILE", parse=read_domains
    )
    user_agent: str = option(USER_AGENT)
    backoff: float = 0.5
    # the --ca-bundle file's text: workers need not see the file
    ca_pem: str | None = option(
        None,
        name="--ca-bundle",
        metavar="FILE",
        parse=_read_ca_bundle,
        help="PEM bundle of the CAs to trust for https, in place of the system store",
    )
    request_timeout: float = option(
        0.0,
        help="seconds one URL may take in all: attempts, redirects, retry waits (0 = 6x --timeout)",
    )

    def deadline(self) -> float:
        """Seconds one URL may take in all (attempts, redirects, retry waits)."""
        return self.request_timeout if self.request_timeout > 0 else 6 * self.timeout


# The input flags: `pipeline run` leaves them out (they are curate's there).
MANIFEST_FLAGS = (
    cli.Flag("--manifest", required=True, nargs="+", repeatable=True,
             help="a curate output folder, or table files/globs"),
    cli.Flag("--url-col", default="url"),
    cli.Flag("--caption-col", default="caption"),
)  # fmt: skip


SHARD_FLAGS = (
    "image_size",
    "resize_mode",
    "encode_format",
    "encode_quality",
    "shard_size",
    "min_image_size",
    "max_aspect_ratio",
)


def shard_config(cfg: DownloadConfig) -> dict:
    """The flags that decide a shard's content: a resumed shard must have been written
    with the same values (recorded in its `_stats.json` as `shard_config`)."""
    return {k: getattr(cfg, k) for k in SHARD_FLAGS}


def download_flags(manifest: bool = True) -> list[cli.Flag]:
    """Download's flags (`pipeline run` takes them without the manifest's)."""
    return [*(MANIFEST_FLAGS if manifest else ()), *cli.flags_of(DownloadConfig)]


def _check_network_flags(args: argparse.Namespace) -> None:
    """Fail in the launcher, with the flag's name, rather than in every worker."""
    for cidr in args.allow_networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as e:
            raise ValueError(f"--allow-networks {cidr!r}: {e}") from e
    for entry in args.resolve:
        parse_resolve(entry)


def _exists(path: str) -> bool:
    return storage.exists(path) or storage.isdir(path)


def config_from_args(args: argparse.Namespace, output: str) -> DownloadConfig:
    """A `DownloadConfig` from parsed flags; bad values raise ValueError with the flag name."""
    for flag in ("image_size", "shard_size", "per_host_connections", "threads"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1")
    if args.near_dup_hamming < 0 or args.near_dup_hamming > 63:
        raise ValueError("--near-dup-hamming must be in 0..63")
    _check_network_flags(args)
    if args.exclude_images and not _exists(args.exclude_images):
        raise ValueError(f"--exclude-images {args.exclude_images}: no such file or folder")
    return cli.from_args(DownloadConfig, args, output=output)
