"""Find the Debian apt mirror this machine is configured with (layer: harness).

The offline base image is a debootstrap root filesystem fetched from the
mirror the machine already uses, read at run time from
/etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources, so no
mirror host name is ever written into the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

_SCRIPTS = Path("/usr/share/debootstrap/scripts")


@dataclass(frozen=True)
class AptSource:
    """One `deb` source: mirror URI, suite (e.g. bookworm) and its keyring if named."""

    uri: str
    suite: str
    keyring: str | None = None


def apt_source(etc_apt: Path = Path("/etc/apt"),
               scripts: Path = _SCRIPTS) -> AptSource:
    """The first `deb` source whose suite debootstrap knows (no -updates/-security).

    Raises HarnessError naming the files read when there is none.
    """
    files = _source_files(etc_apt)
    for entry in (e for f in files for e in _parse(f)):
        if "-" not in entry.suite and (scripts / entry.suite).exists():
            return entry
    names = ", ".join(str(f) for f in files) or f"nothing under {etc_apt}"
    raise HarnessError(
        f"no Debian apt source usable by debootstrap in {names}; expected a 'deb' line "
        f"(or Types: deb stanza) for a release such as bookworm; configure an apt "
        f"mirror, or build with `harness image build --base IMAGE` from a local image")


def _source_files(etc_apt: Path) -> list[Path]:
    files = [etc_apt / "sources.list"]
    d = etc_apt / "sources.list.d"
    if d.is_dir():
        files += sorted(p for p in d.iterdir() if p.suffix in (".list", ".sources"))
    return [f for f in files if f.is_file()]


def _parse(path: Path) -> list[AptSource]:
    text = path.read_text(errors="replace")
    return _parse_deb822(text) if path.suffix == ".sources" else _parse_one_line(text)


def _parse_one_line(text: str) -> list[AptSource]:
    """`deb [signed-by=/k.gpg arch=amd64] URI SUITE COMPONENTS...` lines."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        keyring = None
        rest = line[4:].strip()
        if rest.startswith("["):
            opts, _, rest = rest[1:].partition("]")
            for opt in opts.split():
                key, _, val = opt.partition("=")
                if key == "signed-by":
                    keyring = val
        words = rest.split()
        if len(words) >= 2:
            out.append(AptSource(words[0], words[1], keyring))
    return out


def _parse_deb822(text: str) -> list[AptSource]:
    """deb822 stanzas (Types/URIs/Suites/Signed-By), blank-line separated."""
    out = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, val = line.partition(":")
            fields[key.strip().lower()] = val.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        keyring = fields.get("signed-by") or None
        for uri in fields.get("uris", "").split():
            out += [AptSource(uri, s, keyring) for s in fields.get("suites", "").split()]
    return out
