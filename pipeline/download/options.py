"""Flags of `pipeline download` and the picklable config every worker receives.

`add_download_args(parser, manifest=True)` adds the flags (`pipeline run` adds them
without `--manifest/--url-col/--caption-col`, which belong to curate there);
`config_from_args(args)` turns parsed flags into a frozen `DownloadConfig`.
"""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass, field

USER_AGENT = "openwit/0.1 (+https://github.com/openwit/openwit; image-text dataset builder)"
ROBOTS_TOKEN = "openwit"
RESIZE_MODES = ("no", "border", "keep_ratio", "keep_ratio_largest", "center_crop")
ENCODE_FORMATS = ("jpg", "png", "webp")


@dataclass(frozen=True)
class DownloadConfig:
    """Everything a shard worker needs; plain values only (pickled to every worker)."""

    output: str
    image_size: int = 256
    resize_mode: str = "border"
    encode_format: str = "jpg"
    encode_quality: int = 95
    shard_size: int = 10000
    min_image_size: int = 0
    max_aspect_ratio: float = 0.0
    timeout: float = 10.0
    retries: int = 2
    max_bytes: int = 20_000_000
    per_host_connections: int = 16
    threads: int = 64
    max_redirects: int = 5
    allow_private_networks: bool = False
    allow_networks: tuple[str, ...] = ()
    resolve: tuple[str, ...] = ()
    robots_txt: bool = True
    x_robots_optouts: tuple[str, ...] = ("noai", "noimageai")
    near_dup_hamming: int = 4
    exclude_images: str | None = None
    exclude_domains: tuple[str, ...] = field(default=())
    user_agent: str = USER_AGENT
    backoff: float = 0.5
    ca_pem: str | None = None  # the --ca-bundle file's text: workers need not see the file
    request_timeout: float = 0.0

    def deadline(self) -> float:
        """Seconds one URL may take in all (attempts, redirects, retry waits)."""
        return self.request_timeout if self.request_timeout > 0 else 6 * self.timeout


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


def add_download_args(p: argparse.ArgumentParser, manifest: bool = True) -> None:
    """Add download's flags (DESIGN.md "pipeline download") to `p`."""
    if manifest:
        p.add_argument(
            "--manifest",
            required=True,
            nargs="+",
            action="extend",
            help="a curate output folder, or table files/globs",
        )
        p.add_argument("--url-col", default="url")
        p.add_argument("--caption-col", default="caption")
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--resize-mode", default="border", choices=RESIZE_MODES)
    p.add_argument("--encode-format", default="jpg", choices=ENCODE_FORMATS)
    p.add_argument("--encode-quality", type=int, default=95)
    p.add_argument("--shard-size", type=int, default=10000)
    p.add_argument("--min-image-size", type=int, default=0, help="shortest side; 0 = no limit")
    p.add_argument("--max-aspect-ratio", type=float, default=0.0, help="0 = no limit")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per connect/read; a whole attempt gets 3x this",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=0.0,
        help="seconds one URL may take in all: attempts, redirects, retry waits (0 = 6x --timeout)",
    )
    p.add_argument("--retries", type=int, default=2)
    p.add_argument("--max-bytes", type=int, default=20_000_000)
    p.add_argument("--per-host-connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=64, help="concurrent fetches per shard")
    p.add_argument("--max-redirects", type=int, default=5)
    p.add_argument("--allow-private-networks", action="store_true")
    p.add_argument("--allow-networks", action="append", default=[], metavar="CIDR")
    p.add_argument("--resolve", action="append", default=[], metavar="HOST[:PORT]:IP")
    p.add_argument("--no-robots-txt", action="store_true")
    p.add_argument(
        "--x-robots-optouts",
        default="noai,noimageai",
        help="X-Robots-Tag directives that opt an image out (comma-separated)",
    )
    p.add_argument("--near-dup-hamming", type=int, default=4)
    p.add_argument("--exclude-images", default=None, metavar="SRC")
    p.add_argument("--exclude-domains", default=None, metavar="FILE")
    p.add_argument("--user-agent", default=USER_AGENT)
    p.add_argument(
        "--ca-bundle",
        default=None,
        metavar="FILE",
        help="PEM bundle of the CAs to trust for https, in place of the system store",
    )  # fmt: skip


def read_domains(path: str | None) -> tuple[str, ...]:
    """Domains of an exclude file: one a line, `#` comments, lower-cased, sorted."""
    if not path:
        return ()
    from runtime import storage

    text = storage.read_text(path)
    lines = (line.split("#", 1)[0].strip().lower().lstrip(".") for line in text.splitlines())
    return tuple(sorted({line for line in lines if line}))


def _check_network_flags(args: argparse.Namespace) -> None:
    """Fail in the launcher, with the flag's name, rather than in every worker."""
    from pipeline.download.netpolicy import parse_resolve

    for cidr in args.allow_networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as e:
            raise ValueError(f"--allow-networks {cidr!r}: {e}") from e
    for entry in args.resolve:
        parse_resolve(entry)


def _exists(path: str) -> bool:
    from runtime import storage

    return storage.exists(path) or storage.isdir(path)


def _read_ca_bundle(path: str | None) -> str | None:
    if not path:
        return None
    from pipeline.download.tls import read_ca_bundle

    return read_ca_bundle(path)


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
    return DownloadConfig(
        output=output,
        image_size=args.image_size,
        resize_mode=args.resize_mode,
        encode_format=args.encode_format,
        encode_quality=args.encode_quality,
        shard_size=args.shard_size,
        min_image_size=args.min_image_size,
        max_aspect_ratio=args.max_aspect_ratio,
        timeout=args.timeout,
        retries=max(args.retries, 0),
        max_bytes=args.max_bytes,
        per_host_connections=args.per_host_connections,
        threads=args.threads,
        max_redirects=args.max_redirects,
        allow_private_networks=args.allow_private_networks,
        allow_networks=tuple(args.allow_networks),
        resolve=tuple(args.resolve),
        robots_txt=not args.no_robots_txt,
        x_robots_optouts=tuple(
            d.strip().lower() for d in args.x_robots_optouts.split(",") if d.strip()
        ),
        near_dup_hamming=args.near_dup_hamming,
        exclude_images=args.exclude_images,
        exclude_domains=read_domains(args.exclude_domains),
        user_agent=args.user_agent,
        ca_pem=_read_ca_bundle(args.ca_bundle),
        request_timeout=args.request_timeout,
    )
