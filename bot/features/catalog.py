"""The features found in `bot/features/*/feature.py`, and what the core derives from them: the engine's flows, the
main menu, the scheduler's work, the media columns a person's deletion clears, the refusal types, the button-token
codecs.

Whatever two features (or a feature and the core) both claim — a flow name, a command, a button-token prefix, a
menu token, a token codec's prefix — stops start-up with an error naming both."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot import features as package
from bot.conversations import menu
from bot.conversations.engine import MENU_FLOW
from bot.conversations.flow import UNIT, Advertised, Flow, unique
from bot.conversations.tokens import Token
from bot.domain.quiet import QuietHours
from bot.domain.refusal import Refusal
from bot.features.base import DueWork, Feature, JobSettings
from bot.storage.media import MediaColumn

CORE = "core"  # the owner the core's own claims are named by
# The engine answers these commands and tokens itself, before any flow could (see Engine._dispatch).
CORE_COMMANDS = ("start", "cancel", "menu", "help")
# Of those, the ones the command menu lists, before the features' and after them.
LISTED_FIRST, LISTED_LAST = ("start", "menu", "help"), ("cancel",)
CORE_CLAIMS = ("nav:", "m:")
CORE_TOKENS: tuple[Token[Any], ...] = (UNIT, menu.PICK)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The features, in a stable order (by folder name), checked for conflicts."""

    features: tuple[Feature, ...]

    @property
    def flows(self) -> dict[str, Flow[Any]]:
        """Every flow the engine can run, by name: the menu, then the features'."""
        flows = [menu.build((entry for feature in self.features for entry in feature.menu), self.media)]
        flows += [flow for feature in self.features for flow in feature.flows]
        return {flow.name: flow for flow in flows}

    def job_sources(self, quiet: QuietHours | None, media: str = "media") -> tuple[DueWork, ...]:
        """The features' scheduled work, built with the configured `quiet` hours and `media` directory."""
        settings = JobSettings(quiet, Path(media))
        return tuple(feature.jobs(settings) for feature in self.features if feature.jobs is not None)

    @property
    def media(self) -> tuple[MediaColumn, ...]:
        return tuple(column for feature in self.features for column in feature.media)

    @property
    def refusals(self) -> tuple[type[Refusal], ...]:
        return tuple(refusal for feature in self.features for refusal in feature.refusals)

    def commands(self, *, admin: bool) -> tuple[str, ...]:
        """The commands the channel's command menu lists for everyone, or for an administrator (their
        descriptions are the catalog's "cmd.<command>")."""
        def listed(audience: Advertised) -> list[str]:
            return [flow.command for flow in self.flows.values() if flow.command and flow.advertised is audience]

        admins = listed(Advertised.ADMINS) if admin else []
        return (*LISTED_FIRST, *listed(Advertised.EVERYONE), *LISTED_LAST, *admins)

    @property
    def tokens(self) -> tuple[Token[Any], ...]:
        """Every button-token codec: the core's, then the features'."""
        return CORE_TOKENS + tuple(token for feature in self.features for token in feature.tokens)


def collect(features: Iterable[Feature]) -> Catalog:
    """Check `features` for conflicts (ValueError naming both claimants) and for menu entries naming no flow."""
    found = tuple(features)
    names = [feature.name for feature in found]
    if len(set(names)) < len(names):
        raise ValueError(f"two features share a name: {sorted(names)}")
    flows = unique([(MENU_FLOW, CORE)] + [(flow.name, feature.name) for feature in found for flow in feature.flows],
                   "flow")
    unique([(command, CORE) for command in CORE_COMMANDS]
           + [(flow.command, feature.name) for feature in found for flow in feature.flows if flow.command], "command")
    unique([(prefix, CORE) for prefix in CORE_CLAIMS]
           + [(prefix, feature.name) for feature in found for flow in feature.flows for prefix in flow.claims],
           "button-token prefix")
    unique([(entry.token, CORE) for entry in menu.OWN]
           + [(entry.token, feature.name) for feature in found for entry in feature.menu], "menu token")
    unique([(token.prefix, CORE) for token in CORE_TOKENS]
           + [(token.prefix, feature.name) for feature in found for token in feature.tokens], "token codec prefix")
    for feature in found:
        for entry in feature.menu:
            if entry.flow not in flows:
                raise ValueError(f"feature {feature.name}: menu entry {entry.token!r} starts no known flow "
                                 f"({entry.flow!r})")
    return Catalog(found)


def _feature_of(name: str) -> Feature:
    declared = getattr(importlib.import_module(f"{package.__name__}.{name}.feature"), "FEATURE", None)
    if not isinstance(declared, Feature) or declared.name != name:
        raise TypeError(f"{package.__name__}.{name}.feature must define FEATURE = Feature({name!r}, ...)")
    return declared


@cache
def discover() -> Catalog:
    """Every feature: each package under bot/features (its feature.py), in the order of their names."""
    names = sorted(module.name for module in pkgutil.iter_modules(package.__path__) if module.ispkg)
    return collect(_feature_of(name) for name in names)


def all_flows() -> Mapping[str, Flow[Any]]:
    """The flows of every feature, and the menu's."""
    return discover().flows
