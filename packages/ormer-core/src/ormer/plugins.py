"""The plugin manager, entry-point loading and the dialect registry.

Backends are found only through the ``ormer.plugins`` entry-point group,
loaded once, lazily, on first use. A plugin registers its dialects as
``"module:Class"`` strings, so no driver is imported until a dialect is used.
``ORMER_DISABLE_PLUGINS=name,...`` blocks plugins by entry-point name;
:func:`register` adds a plugin by hand.

This module sits on the lowest floor (it imports only ``hookspecs`` and
``errors``): models fire ``ormer_model_defined`` when they are declared.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import ConfigurationError, DialectNotFoundError

if TYPE_CHECKING:
    from .dialect import Dialect

__all__ = [
    "DialectEntry",
    "KNOWN_BACKENDS",
    "DialectRegistry",
    "KnownBackend",
    "QueryHooks",
    "dialect_plugin",
    "get_dialect",
    "model_defined",
    "manager",
    "query_hooks",
    "register",
    "registry",
    "unregister",
]

ENTRY_POINT_GROUP = "ormer.plugins"


@dataclass(frozen=True)
class KnownBackend:
    """A first-party backend: its dialect name, URL schemes and distribution.

    ``package`` is None for a backend that is planned but not published yet.
    """

    name: str
    title: str
    schemes: tuple[str, ...]
    package: str | None


# The one table of first-party backends: the "pip install ..." hints, the scheme
# aliases (postgres:// -> postgresql) and the "did you mean ...?" suggestions.
KNOWN_BACKENDS: dict[str, KnownBackend] = {
    b.name: b
    for b in (
        KnownBackend("sqlite", "SQLite", ("sqlite", "sqlite3"), "ormer-sqlite"),
        KnownBackend("postgresql", "PostgreSQL", ("postgresql", "postgres"), "ormer-postgres"),
        KnownBackend("mysql", "MySQL/MariaDB", ("mysql", "mariadb"), "ormer-mysql"),
        KnownBackend("turso", "Turso", ("turso", "libsql"), "ormer-turso"),
    )
}

# Dialect name -> distribution, for the first-party backends that are published.
KNOWN_PACKAGES = {b.name: b.package for b in KNOWN_BACKENDS.values() if b.package is not None}

# URL scheme -> first-party dialect name.
_KNOWN_SCHEMES = {scheme: b.name for b in KNOWN_BACKENDS.values() for scheme in b.schemes}

# how close a misspelt name must be to a known one to be suggested (difflib ratio)
_SUGGEST_CUTOFF = 0.75


@dataclass(frozen=True)
class DialectEntry:
    """One registered dialect: its name, URL schemes and lazy import target."""

    name: str
    schemes: tuple[str, ...]
    target: str | type[Dialect]
    package: str | None = None

    def load(self) -> type[Dialect]:
        """Import and return the dialect class."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        if not attr:
            raise ConfigurationError(
                f"dialect target {self.target!r} must look like 'package.module:Class'"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            hint = self.package or KNOWN_PACKAGES.get(self.name, f"ormer-{self.name}")
            raise DialectNotFoundError(
                f"dialect {self.name!r} is registered but its module {module_name!r} "
                f"cannot be imported ({exc}); reinstall it: pip install {hint}"
            ) from exc
        cls: type[Dialect] = getattr(module, attr)
        return cls


class DialectRegistry:
    """Dialects by name and by URL scheme, filled by ``ormer_register_dialects``."""

    def __init__(self) -> None:
        self._by_name: dict[str, DialectEntry] = {}
        self._by_scheme: dict[str, DialectEntry] = {}
        self._instances: dict[str, Dialect] = {}

    def add(
        self,
        name: str,
        *,
        schemes: Iterable[str] = (),
        target: str | type[Dialect],
        package: str | None = None,
    ) -> None:
        """Register a dialect. ``target`` is ``"module:Class"`` (imported lazily) or a class."""
        key = name.lower()
        entry = DialectEntry(key, tuple(s.lower() for s in schemes) or (key,), target, package)
        self._by_name[key] = entry
        for scheme in entry.schemes:
            self._by_scheme[scheme] = entry
        self._instances.pop(key, None)

    def remove(self, name: str) -> None:
        """Forget a dialect (used when its plugin is unregistered)."""
        entry = self._by_name.pop(name.lower(), None)
        if entry is not None:
            for scheme in entry.schemes:
                if self._by_scheme.get(scheme) is entry:
                    del self._by_scheme[scheme]
            self._instances.pop(entry.name, None)

    def names(self) -> list[str]:
        """Names of the registered dialects, sorted."""
        return sorted(self._by_name)

    def has(self, name: str) -> bool:
        """Whether a dialect of that name is registered."""
        return name.lower() in self._by_name

    def entry_for_name(self, name: str) -> DialectEntry:
        """The entry of a dialect name, or DialectNotFoundError."""
        entry = self._by_name.get(name.lower())
        if entry is None:
            raise self._not_found(f"no dialect named {name!r}", name.lower(), url=False)
        return entry

    def entry_for_scheme(self, scheme: str) -> DialectEntry:
        """The entry handling a URL scheme (``postgres``, ``mysql+asyncmy``, ...)."""
        scheme = scheme.lower()
        entry = self._by_scheme.get(scheme) or self._by_scheme.get(scheme.split("+", 1)[0])
        if entry is None:
            base, plus, driver = scheme.partition("+")
            raise self._not_found(
                f"no dialect handles URL scheme {scheme!r}", base, url=True, suffix=plus + driver
            )
        return entry

    def instance(self, entry: DialectEntry) -> Dialect:
        """The shared dialect instance (its compiled-statement cache is shared too)."""
        dialect = self._instances.get(entry.name)
        if dialect is None:
            dialect = entry.load()()
            self._instances[entry.name] = dialect
        return dialect

    def _not_found(
        self, what: str, wanted: str, *, url: bool, suffix: str = ""
    ) -> DialectNotFoundError:
        """The error for a missing dialect: what is installed, and the way to get it.

        ``wanted`` is a dialect name or (``url=True``) a URL scheme without its
        ``+driver`` ``suffix``. A known first-party backend gets its package name
        (or "not available yet" when it is planned); a misspelling of a known or
        installed name gets "did you mean ...?" instead of a package that does
        not exist.
        """
        installed = (
            ", ".join(
                f"{e.name} ({'/'.join(e.schemes)})"
                for e in sorted(self._by_name.values(), key=lambda e: e.name)
            )
            or "none"
        )
        message = f"{what}. Installed dialects: {installed}."
        known = KNOWN_BACKENDS.get(_KNOWN_SCHEMES.get(wanted, wanted))
        if known is not None:
            return DialectNotFoundError(f"{message} {_install_hint(known)}")
        spellings = set(self._by_scheme) | set(_KNOWN_SCHEMES) if url else set(self._by_name)
        if not url:
            spellings |= set(KNOWN_BACKENDS)
        close = difflib.get_close_matches(wanted, sorted(spellings), n=1, cutoff=_SUGGEST_CUTOFF)
        if close:
            guess = close[0]
            shown = f"{guess}{suffix}://" if url else repr(guess)
            hint = f"Did you mean {shown}?"
            target = self._by_scheme.get(guess) if url else self._by_name.get(guess)
            if target is None:  # a first-party backend that is not installed
                suggested = KNOWN_BACKENDS[_KNOWN_SCHEMES.get(guess, guess)]
                hint = f"{hint} {_install_hint(suggested)}"
            return DialectNotFoundError(f"{what}. {hint} Installed dialects: {installed}.")
        return DialectNotFoundError(
            f"{message} If a plugin provides it, install it: pip install ormer-{wanted}"
        )


def _install_hint(known: KnownBackend) -> str:
    """How to get a first-party backend (or that it is not available yet)."""
    if known.package is None:
        return (
            f"The {known.title} backend is not available yet (it is planned); "
            "no package provides it today."
        )
    return f"To add it: pip install {known.package}"


@dataclass(frozen=True)
class QueryHooks:
    """The per-statement hook callers, or None when no plugin implements them.

    Rebuilt whenever a plugin is registered, so a statement pays one attribute
    read when nobody listens.
    """

    before_execute: Callable[..., Any] | None = None
    after_execute: Callable[..., Any] | None = None
    connection_created: Callable[..., Any] | None = None
    connection_checkout: Callable[..., Any] | None = None
    connection_checkin: Callable[..., Any] | None = None
    connection_closed: Callable[..., Any] | None = None
    pool_opened: Callable[..., Any] | None = None
    pool_closed: Callable[..., Any] | None = None


class _State:
    lock = threading.RLock()
    pm: pluggy.PluginManager | None = None
    registry = DialectRegistry()
    hooks = QueryHooks()


def _refresh() -> None:
    pm = _State.pm
    assert pm is not None

    def caller(name: str) -> Callable[..., Any] | None:
        hook = getattr(pm.hook, name)
        impls = hook.get_hookimpls()
        if not impls:
            return None
        if any(i.hookwrapper or i.wrapper for i in impls):
            call: Callable[..., Any] = hook  # pluggy's own call: wrappers need its machinery
            return call
        return _direct_caller(impls)

    _State.hooks = QueryHooks(
        before_execute=caller("ormer_before_execute"),
        after_execute=caller("ormer_after_execute"),
        connection_created=caller("ormer_connection_created"),
        connection_checkout=caller("ormer_connection_checkout"),
        connection_checkin=caller("ormer_connection_checkin"),
        connection_closed=caller("ormer_connection_closed"),
        pool_opened=caller("ormer_pool_opened"),
        pool_closed=caller("ormer_pool_closed"),
    )
    registry = DialectRegistry()
    pm.hook.ormer_register_dialects(registry=registry)
    _State.registry = registry


def _direct_caller(impls: list[Any]) -> Callable[..., None]:
    """Call plain hook implementations directly, each with the arguments it names:
    what pluggy does, without its per-call machinery (a statement pays two of these
    calls while a plugin listens). Calls in pluggy's order (last registered first);
    results are dropped (these hooks return nothing)."""
    calls = [(i.function, i.argnames) for i in reversed(impls)]
    if len(calls) == 1:
        ((fn, names),) = calls

        def call_one(**kwargs: Any) -> None:
            fn(*[kwargs[n] for n in names])

        return call_one

    def call_all(**kwargs: Any) -> None:
        for fn, names in calls:
            fn(*[kwargs[n] for n in names])

    return call_all


def dialect_plugin(
    name: str,
    *,
    schemes: Iterable[str] = (),
    target: str | type[Dialect],
    package: str | None = None,
) -> Callable[[DialectRegistry], None]:
    """A ready ``ormer_register_dialects`` hook registering one dialect (lazily when
    ``target`` is ``"module:Class"``). A backend's entry-point module needs one line::

        ormer_register_dialects = dialect_plugin("mydb", schemes=("mydb",), target="pkg:D")
    """
    schemes = tuple(schemes)

    @hookspecs.hookimpl
    def ormer_register_dialects(registry: DialectRegistry) -> None:
        registry.add(name, schemes=schemes, target=target, package=package)

    return ormer_register_dialects


def manager() -> pluggy.PluginManager:
    """The plugin manager; the first call loads the ``ormer.plugins`` entry points."""
    pm = _State.pm
    if pm is not None:
        return pm
    with _State.lock:
        if _State.pm is not None:
            return _State.pm
        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        for name in os.environ.get("ORMER_DISABLE_PLUGINS", "").split(","):
            if name.strip():
                pm.set_blocked(name.strip())
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.check_pending()
        _State.pm = pm
        _refresh()
        return pm


def register(plugin: object, name: str | None = None) -> str:
    """Add a plugin (a module, class or instance with ``@hookimpl`` functions) by hand.

    Returns the plugin's name, for :func:`unregister`.
    """
    pm = manager()
    with _State.lock:
        try:
            plugin_name = pm.register(plugin, name=name)
        except ValueError as exc:  # pluggy: that plugin or name is already registered
            raise ConfigurationError(f"cannot register plugin {name or plugin!r}: {exc}") from exc
        if plugin_name is None:
            raise ConfigurationError(f"plugin {name or plugin!r} is blocked or already registered")
        pm.check_pending()
        _refresh()
        return plugin_name


def unregister(name: str) -> None:
    """Remove a plugin added with :func:`register` (or loaded from an entry point)."""
    pm = manager()
    with _State.lock:
        pm.unregister(name=name)
        _refresh()


def registry() -> DialectRegistry:
    """The dialect registry (loads plugins on first use)."""
    manager()
    return _State.registry


def query_hooks() -> QueryHooks:
    """The current per-statement hook callers (cheap: no plugin lookup per call)."""
    if _State.pm is None:
        manager()
    return _State.hooks


def hook() -> Any:
    """The raw pluggy hook relay (``hook().ormer_sql_type(...)``)."""
    return manager().hook


def model_defined(model: type) -> None:
    """Fire ``ormer_model_defined`` (historic: plugins registered later see it too)."""
    manager().hook.ormer_model_defined.call_historic(kwargs={"model": model})


def get_dialect(name_or_scheme: str) -> Dialect:
    """The shared dialect instance for a dialect name or URL scheme."""
    reg = registry()
    entry = (
        reg.entry_for_name(name_or_scheme)
        if reg.has(name_or_scheme)
        else reg.entry_for_scheme(name_or_scheme)
    )
    return reg.instance(entry)
