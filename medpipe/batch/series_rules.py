"""Which file or DICOM series feeds which bundle input: channel names, aliases and series rules.

A series rule set (the format of ``--series-map RULES.json``) is::

    {
      "exclude": {"SeriesDescription": "localizer|scout", "ImageType": "LOCALIZER"},
      "inputs": {
        "t1":    {"SeriesDescription": "\\bt1w?\\b", "exclude": {"SeriesDescription": "ce|gd|post"}},
        "flair": {"SeriesDescription": "flair"}
      }
    }

Every value is a regular expression searched case-insensitively in the tag's text (the
description is lower-cased and ``_``/``-`` become spaces first; multi-valued tags are joined
with ``\\``). A series feeds an input when all the input's tags match and none of its
``exclude`` tags (nor the top-level ``exclude``) match. An input matched by no series is
*missing*; an input matched by two or more is *ambiguous*: both are reported, never guessed.
A rules file given on the command line replaces the defaults input by input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "CHANNEL_ALIASES",
    "canonical_channel",
    "default_channels",
    "default_rules",
    "load_rules",
    "match_series",
]

# File-name tokens and channel_def spellings of each BraTS modality (BraTS 2018-21 and 2023 names).
CHANNEL_ALIASES: dict[str, tuple[str, ...]] = {
    "t1": ("t1", "t1n", "t1w", "t1native"),
    "t1ce": ("t1ce", "t1c", "t1gd", "t1post", "t1contrast"),
    "t2": ("t2", "t2w"),
    "flair": ("flair", "t2f", "t2flair"),
}
LABEL_TOKENS = ("seg", "label", "labels", "mask", "gt")
_LOCALIZER = {"SeriesDescription": r"locali[sz]er|scout|survey|\bloc\b|3 ?plane|tripilot", "ImageType": r"localizer"}

_BRATS_RULES = {
    "t1": {"SeriesDescription": r"\bt1 ?(w|n|native)?\b", "exclude": {"SeriesDescription": r"\bce\b|gd|gad|post|contrast|\+ ?c\b|flair"}},
    "t1ce": {"SeriesDescription": r"\bt1 ?(ce|c|gd)\b|\bt1\b.*(gd|gad|post|contrast|\+ ?c\b)"},
    "t2": {"SeriesDescription": r"\bt2 ?w?\b", "exclude": {"SeriesDescription": r"flair|star|\*|\bt2 ?f\b"}},
    "flair": {"SeriesDescription": r"flair|\bt2 ?f\b"},
}


def canonical_channel(name: str) -> str:
    """Map a spelling such as ``"T1Gd"``, ``"t2-flair"`` or ``"T1w"`` to ``t1|t1ce|t2|flair``.

    Names that are not BraTS modalities come back lower-cased with punctuation removed.
    """
    key = re.sub(r"[^a-z0-9]", "", str(name).lower())
    for canonical, aliases in CHANNEL_ALIASES.items():
        if key in aliases:
            return canonical
    return key


def default_channels(bundle_name: str, channel_def: Mapping, num_channels: int) -> tuple[str, ...]:
    """Input channel names of a bundle, in channel order.

    Args:
        bundle_name: the bundle folder name.
        channel_def: ``metadata.json`` ``inputs.<key>.channel_def`` (``{"0": "T1", ...}``), may be empty.
        num_channels: ``inputs.<key>.num_channels``.

    Returns:
        BraTS modality names when ``channel_def`` spells modalities (or the bundle is a 4-channel
        ``brats*`` bundle), ``("image",)`` for one channel, else the nnU-Net indices ``"0000"``....
    """
    if channel_def and all(str(k).isdigit() for k in channel_def):
        names = tuple(canonical_channel(channel_def[k]) for k in sorted(channel_def, key=lambda k: int(k)))
        if len(names) > 1 or names[0] in CHANNEL_ALIASES:
            return names
    if bundle_name.lower().startswith("brats") and num_channels == 4:
        return ("t1", "t1ce", "t2", "flair")
    if num_channels <= 1:
        return ("image",)
    return tuple(f"{i:04d}" for i in range(num_channels))


def default_rules(channels: tuple[str, ...], modality: str | None = None) -> dict:
    """The default series rules for a bundle's channels (BraTS modalities, or one series by modality)."""
    rules: dict = {"exclude": dict(_LOCALIZER), "inputs": {}}
    for channel in channels:
        if channel in _BRATS_RULES:
            rules["inputs"][channel] = json.loads(json.dumps(_BRATS_RULES[channel]))
        elif len(channels) == 1:
            rules["inputs"][channel] = {"Modality": modality} if modality else {}
        else:
            rules["inputs"][channel] = {"SeriesDescription": re.escape(channel)}
    return rules


def load_rules(path: str | Path, channels: tuple[str, ...], base: dict) -> dict:
    """Read ``--series-map RULES.json`` and lay it over ``base`` (input by input).

    Raises:
        ValueError: when the file is missing, not JSON, or names an input the bundle does not have,
            or holds a regular expression that does not compile.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"`--series-map` must be an existing JSON file, got {str(path)!r}")
    try:
        given = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"`--series-map` must be valid JSON, got {str(path)!r}: {err}") from None
    if not isinstance(given, dict) or not set(given) <= {"exclude", "inputs"}:
        raise ValueError(f"`--series-map` must be an object with keys 'exclude' and/or 'inputs', got {sorted(given) if isinstance(given, dict) else type(given).__name__}")
    rules = {"exclude": dict(base.get("exclude", {})), "inputs": dict(base.get("inputs", {}))}
    if "exclude" in given:
        rules["exclude"] = dict(given["exclude"])
    for channel, rule in given.get("inputs", {}).items():
        if channel not in channels:
            raise ValueError(f"`--series-map` input names must be among the bundle's inputs {list(channels)}, got {channel!r}")
        rules["inputs"][channel] = rule
    for rule in [rules["exclude"], *rules["inputs"].values(), *(r.get("exclude", {}) for r in rules["inputs"].values())]:
        for tag, pattern in rule.items():
            if tag == "exclude":
                continue
            try:
                re.compile(str(pattern))
            except re.error as err:
                raise ValueError(f"`--series-map` pattern for {tag} must be a regular expression, got {pattern!r}: {err}") from None
    return rules


def _text(tags: Mapping, tag: str) -> str:
    value = tags.get(tag, "")
    if isinstance(value, (list, tuple)):
        value = "\\".join(str(v) for v in value)
    return re.sub(r"[_\-]+", " ", str(value).lower())


def _matches(tags: Mapping, rule: Mapping) -> bool:
    return all(re.search(str(pattern), _text(tags, tag), re.IGNORECASE) for tag, pattern in rule.items() if tag != "exclude")


def _excluded(tags: Mapping, rule: Mapping) -> bool:
    return any(re.search(str(pattern), _text(tags, tag), re.IGNORECASE) for tag, pattern in rule.items() if tag != "exclude")


def match_series(series_tags: list[Mapping], rules: Mapping, channels: tuple[str, ...]) -> tuple[dict[str, int], list[str], list[str]]:
    """Assign series to inputs by rules.

    Args:
        series_tags: one mapping of tag name to value per series (``SeriesDescription``,
            ``Modality``, ``ImageType``, ...), in a stable order.
        rules: a rule set (see the module docstring).
        channels: the bundle's inputs.

    Returns:
        ``(chosen, problems, notes)``: ``chosen`` maps each resolved input to a series index;
        ``problems`` says which inputs are missing or ambiguous (empty when the case can run);
        ``notes`` says why every unused series was left out.
    """
    chosen: dict[str, int] = {}
    problems: list[str] = []
    notes: list[str] = []
    usable = [i for i, tags in enumerate(series_tags) if not _excluded(tags, rules.get("exclude", {}))]
    for i in sorted(set(range(len(series_tags))) - set(usable)):
        notes.append(f"series {_describe(series_tags[i])} left out: localizer/excluded")
    matched: set[int] = set()
    for channel in channels:
        rule = rules.get("inputs", {}).get(channel, {})
        hits = [i for i in usable if _matches(series_tags[i], rule) and not _excluded(series_tags[i], rule.get("exclude", {}))]
        matched.update(hits)
        if len(hits) == 1:
            chosen[channel] = hits[0]
        elif not hits:
            problems.append(f"no series matches input {channel!r}")
        else:
            problems.append(f"ambiguous: {len(hits)} series match input {channel!r}: " + ", ".join(_describe(series_tags[i]) for i in hits))
    for i in usable:
        if i not in matched:
            notes.append(f"series {_describe(series_tags[i])} not used: matches no input rule")
    return chosen, problems, notes


def _describe(tags: Mapping) -> str:
    number = tags.get("SeriesNumber", "?")
    return f"#{number} {str(tags.get('SeriesDescription', '')).strip()!r}"
