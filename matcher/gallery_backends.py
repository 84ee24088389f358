"""Face gallery backends by name: the setting ``CIVID_GALLERY_BACKEND`` picks one, ``create_gallery`` builds it.

A backend is one class that implements ``matcher.gallery.Gallery`` and is built from ``GalleryOptions``,
plus one line in ``BUILT_IN`` below (or a ``register_backend`` call, as a test does). A built-in backend's
module is imported only when it is chosen, so an engine's client library (say pymilvus) loads only in a
deployment that uses it. The store never names a class, so adding an engine touches no caller.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from matcher.gallery import Gallery, GalleryOptions

DEFAULT_BACKEND = "faiss"
# name -> "module:factory" (a callable taking GalleryOptions and returning an empty Gallery).
BUILT_IN: dict[str, str] = {
    "faiss": "matcher.gallery:FaissGallery.from_options",
}

GalleryFactory = Callable[[GalleryOptions], Gallery]
_registered: dict[str, GalleryFactory] = {}


class UnknownGalleryBackend(ValueError):
    """A gallery backend name that nothing registered (a typo in the setting refuses to start)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown gallery backend {name!r} (CIVID_GALLERY_BACKEND); known backends: {', '.join(backend_names())}"
        )
        self.name = name


def register_backend(name: str, factory: GalleryFactory) -> None:
    """Make ``name`` a valid backend; it takes precedence over a built-in of the same name (tests swap one in)."""
    _registered[name] = factory


def unregister_backend(name: str) -> None:
    """Forget a registered ``name`` (a test removes the backend it registered); built-ins stay."""
    _registered.pop(name, None)


def backend_names() -> list[str]:
    """Every backend name that ``create_gallery`` accepts, sorted."""
    return sorted({*BUILT_IN, *_registered})


def create_gallery(name: str, options: GalleryOptions) -> Gallery:
    """An empty gallery of backend ``name``; ``UnknownGalleryBackend`` when no such backend exists."""
    factory = _registered.get(name) or _built_in(name)
    return factory(options)


def _built_in(name: str) -> GalleryFactory:
    target = BUILT_IN.get(name)
    if target is None:
        raise UnknownGalleryBackend(name)
    module_name, _, attribute = target.partition(":")
    found: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return cast(GalleryFactory, found)
