"""The command-line layer the three CLIs share (`python -m pipeline|queries SUB`, `trainer SUB`).

Flags are declared once: either as dataclass field metadata on a command's config
(`option(...)`, read by `flags_of(Config)`) or as a `Flag` for the few that belong to no
config. `parser(...)` builds an argparse parser from them (with `--log-level` on every
command); `parse(parser, argv, beam=...)` parses, sets the log level and refuses unknown
flags (exit 2, naming the flag): a command that runs a Beam job (`beam=True`) hands the flags
Beam knows to the job instead (checked by `runtime.beam`, imported only then), so a typo
never silently becomes an ignored Beam option. `from_args(Config, ns)` builds the config back.
`dispatch(prog, commands, argv)` picks the subcommand.

Beam-free: the trainer uses it.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from runtime.logs import LEVELS, setup_logging

_UNSET: Any = dataclasses.MISSING


@dataclass(frozen=True)
class Flag:
    """One flag (`--max-per-query`) or positional argument (`dir`), declared once.

    `repeatable`: the flag may be given again, values accumulate in a list (with `nargs="+"`
    each occurrence may hold several). `switch`: takes no value, True when given (or
    `--x/--no-x` with `negatable`). Flags with the same `one_of` name form a group of which
    exactly one must be given. `parse` turns the parsed value into the config's value."""

    name: str
    help: str = ""
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple | None = None
    required: bool = False
    repeatable: bool = False
    nargs: str | None = None
    switch: bool = False
    negatable: bool = False
    metavar: str | None = None
    one_of: str | None = None
    parse: Callable[[Any], Any] | None = None

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    def add_to(self, p: argparse.ArgumentParser) -> None:
        kw: dict[str, Any] = {"help": self.help or None}
        if not self.name.startswith("-"):
            p.add_argument(self.name, **kw)
            return
        kw["default"] = self.default
        if self.switch:
            kw["action"] = argparse.BooleanOptionalAction if self.negatable else "store_true"
        else:
            kw.update(type=self.type, choices=self.choices, metavar=self.metavar)
            kw["required"] = self.required
            if self.repeatable:
                kw["action"] = "extend" if self.nargs else "append"
                # argparse appends to a default list: only an empty one is safe
                kw["default"] = [] if self.default in (None, ()) else list(self.default)
            if self.nargs:
                kw["nargs"] = self.nargs
        p.add_argument(
            self.name, **{k: v for k, v in kw.items() if v is not None or k == "default"}
        )


def option(default: Any = _UNSET, *, default_factory: Any = _UNSET, **flag: Any):
    """A dataclass field that is also a flag: `--<field-name>` unless `name=` says otherwise;
    the flag's default is the field's unless `flag_default=` differs (e.g. a string the
    config parses); `type` defaults to the type of the default."""
    kw: dict[str, Any] = {"metadata": {"flag": flag}}
    if default is not _UNSET:
        kw["default"] = default
    if default_factory is not _UNSET:
        kw["default_factory"] = default_factory
    return dataclasses.field(**kw)


def flags_of(cls: type, skip: Iterable[str] = ()) -> list[Flag]:
    """The `Flag`s declared on `cls`'s fields with `option(...)`, in field order."""
    return [fl for f, fl in _declared(cls) if f.name not in skip]


def _declared(cls: type) -> list[tuple[dataclasses.Field, Flag]]:
    out = []
    for f in dataclasses.fields(cls):
        if "flag" not in f.metadata:
            continue
        meta = dict(f.metadata["flag"])
        has_default = f.default is not _UNSET or f.default_factory is not _UNSET
        default = meta.pop("flag_default", f.default if f.default is not _UNSET else None)
        meta.setdefault("required", not has_default)
        name = meta.pop("name", "--" + f.name.replace("_", "-"))
        if "type" not in meta and not meta.get("switch") and type(default) in (int, float):
            meta["type"] = type(default)
        out.append((f, Flag(name, default=default, **meta)))
    return out


def from_args(cls: type, ns: argparse.Namespace, flags: Iterable[Flag] = (), **values: Any):
    """`cls(...)` from a parsed namespace: each field takes `values[name]`, else the value of
    its flag (through the flag's `parse`), else the namespace attribute of the same name;
    fields found nowhere keep their default."""
    by_field = {f.name: fl for f, fl in _declared(cls)}
    by_field.update({fl.dest: fl for fl in flags if fl.dest not in by_field})
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            kwargs[f.name] = values[f.name]
            continue
        fl = by_field.get(f.name)
        dest = fl.dest if fl else f.name
        if hasattr(ns, dest):
            value = getattr(ns, dest)
            kwargs[f.name] = fl.parse(value) if fl and fl.parse else value
    return cls(**kwargs)


def parser(prog: str, description: str = "", flags: Iterable[Flag] = (), beam: bool = False,
           epilog: str | None = None) -> argparse.ArgumentParser:  # fmt: skip
    """An argparse parser with `flags` and `--log-level`; no abbreviations."""
    if beam and epilog is None:
        epilog = "Beam pipeline options (--runner, --temp_location, ...) pass through to Beam."
    p = argparse.ArgumentParser(prog=prog, description=description or None, epilog=epilog,
                                allow_abbrev=False)  # fmt: skip
    groups: dict[str, Any] = {}
    for fl in flags:
        if fl.one_of and fl.one_of not in groups:
            groups[fl.one_of] = p.add_mutually_exclusive_group(required=True)
        fl.add_to(groups[fl.one_of] if fl.one_of else p)
    add_log_level(p)
    return p


def add_log_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", default="warning", choices=LEVELS, type=str.lower,
                   help="warning (default): our warnings and errors only; info: what each "
                   "step does; debug: also Beam's and its workers' logs")  # fmt: skip


def parse(p: argparse.ArgumentParser, argv: list[str], beam: bool = False):
    """(namespace, Beam args) from `argv`; sets up logging at `--log-level`. Exits 2 (like
    argparse) on a flag that is neither the command's nor, with `beam`, a Beam option."""
    ns, rest = p.parse_known_args(argv)
    setup_logging(ns.log_level)
    if beam:
        from runtime.beam import unknown_flags  # deferred: imports Beam

        unknown = unknown_flags(rest)
    else:
        unknown = list(rest)
    if unknown:
        what = "flag" if unknown[0].startswith("-") else "argument"
        also = ", nor a Beam pipeline option" if beam else ""
        p.error(f"unknown {what} {unknown[0]} (not a flag of this command{also})")
    return ns, rest


@dataclass(frozen=True)
class Command:
    """A subcommand: `target` is "module:function", imported when it runs; the function
    takes the remaining argv and returns the exit status."""

    name: str
    help: str
    target: str


def usage(prog: str, commands: Iterable[Command]) -> str:
    lines = [f"usage: {prog} SUBCOMMAND [flags]", "", "subcommands:"]
    lines += [f"  {c.name:<10} {c.help}" for c in commands]
    lines.append(f"\n`{prog} SUBCOMMAND --help` lists a subcommand's flags.")
    return "\n".join(lines)


def dispatch(prog: str, commands: Iterable[Command], argv: list[str] | None = None) -> int:
    """Run the subcommand `argv[0]` with the rest; 2 (and the usage) for none or an unknown
    one, 0 for `--help`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    setup_logging(_early_level(argv))  # before the command imports Beam (import-time warnings)
    table = {c.name: c for c in commands}
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(prog, table.values()), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] not in table:
        print(f"unknown subcommand {argv[0]!r}\n\n{usage(prog, table.values())}", file=sys.stderr)
        return 2
    module, _, func = table[argv[0]].target.partition(":")
    return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)


def _early_level(argv: list[str]) -> str:
    """`--log-level`'s value if present and valid (the command's parser checks it again)."""
    value = flag_value(argv, "--log-level")
    return value.lower() if value and value.lower() in LEVELS else "warning"


def flag_value(args: list[str], name: str) -> str | None:
    """The value of the first `name VALUE` or `name=VALUE` in raw `args`; None if absent."""
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None
