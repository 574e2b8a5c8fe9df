"""Database adapters, one registry (layer: harness).

`DATABASES` maps a name to "module:Class"; the module is imported only when
that database is chosen, so adding etcd does not slow `harness run` for the
emulator. Nothing outside this registry constructs an adapter: `db_class`,
`make_db` (from validated options) and `db_from_record` (from cluster.json,
for heal and status). See harness/db/_base.py for the DB protocol and
docs/extending.md for adding one (one file plus one line here).
"""

from __future__ import annotations

import difflib
import importlib

from harness.db._base import CAPABILITIES, DB, Option
from harness.errors import BadInput

DATABASES = {
    "heliosdb": "harness.db.heliosdb:HeliosDB",
    "etcd": "harness.db.etcd:Etcd",
}


def db_class(name: str) -> type[DB]:
    """The adapter class called `name`; BadInput naming the choices otherwise."""
    if name not in DATABASES:
        near = difflib.get_close_matches(str(name), DATABASES, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise BadInput(f"--db {name!r}: unknown database{hint}; available: "
                       f"{', '.join(sorted(DATABASES))}")
    module, _, cls = DATABASES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def parse_db_opts(name: str, items: list[str], defaults: dict | None = None,
                  source: str = "case db") -> dict:
    """The adapter's keyword options: `defaults` (a case's `db:` mapping) overridden by
    KEY=VALUE `items` (--db-opt). A repeatable option collects a tuple. BadInput names the
    bad pair and the valid keys."""
    cls = db_class(name)
    out: dict = {}
    for key, raw in (defaults or {}).items():
        out[key] = _value(cls, key, raw, f"{source}: {key}", replace=True, out=out)
    overridden: set = set()
    for item in items or []:
        key, sep, raw = str(item).partition("=")
        if not sep:
            raise BadInput(f"--db-opt {item!r}: expected KEY=VALUE with KEY one of "
                           f"{', '.join(cls.options)}")
        first = key not in overridden
        overridden.add(key)
        out[key] = _value(cls, key, raw, f"--db-opt {item!r}", replace=first, out=out)
    cls([], **out)    # rules across options (etcd: election >= 5 x heartbeat), before anything
    return out


def _value(cls, key, raw, where, replace, out):
    if key not in cls.options:
        near = difflib.get_close_matches(key, cls.options, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise BadInput(f"{where}: {cls.name} has no option {key!r}{hint}; options: "
                       f"{', '.join(cls.options)}")
    opt = cls.options[key]
    values = raw if (opt.repeat and isinstance(raw, list)) else [raw]
    try:
        parsed = tuple(opt.parse(key, v) for v in values)
    except ValueError as exc:
        raise BadInput(f"{where}: {exc}") from None
    if opt.repeat:
        return parsed if replace else tuple(out.get(key, ())) + parsed
    return parsed[0]


def make_db(name: str, hosts, options: dict) -> DB:
    """The adapter for `hosts` with options already checked by parse_db_opts."""
    return db_class(name)(hosts, **options)


def db_from_record(hosts, record: dict | None) -> DB | None:
    """The adapter a cluster.json `db` record describes (None without one)."""
    if not record or record.get("name") not in DATABASES:
        return None
    cls = db_class(record["name"])
    return cls.from_record(hosts, record)


__all__ = ["CAPABILITIES", "DATABASES", "DB", "Option", "db_class", "db_from_record",
           "make_db", "parse_db_opts"]
