"""Face gallery backends by name: the setting ``CIVID_GALLERY_BACKEND`` picks one, ``create_gallery`` builds it.

A backend is one class that implements ``matcher.gallery.Gallery`` and is built from ``GalleryOptions``,
plus one line in ``BUILT_IN`` below (or a ``register_backend`` call, as a test does). A built-in backend's
module is imported only when it is chosen, so an engine's client library (say pymilvus) loads only in a
deployment that uses it. The store never names a class, so adding an engine touches no caller. The same name
picks the finger index (``FINGER_BUILT_IN``): on Milvus both modalities live on the server.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from matcher.finger_index import FingerGallery, FingerIndexOptions
from matcher.gallery import Gallery, GalleryOptions

DEFAULT_BACKEND = "faiss"
# name -> "module:factory" (a callable taking GalleryOptions and returning an empty Gallery).
BUILT_IN: dict[str, str] = {
    "faiss": "matcher.gallery:FaissGallery.from_options",
    "milvus": "matcher.milvus_gallery:MilvusGallery.from_options",
}
# The finger index of each backend that has one (taking FingerIndexOptions); a backend without one (a test's numpy
# gallery) keeps its fingers in the FAISS index of this process.
FINGER_BUILT_IN: dict[str, str] = {
    "faiss": "matcher.finger_index:FingerIndex.from_options",
    "milvus": "matcher.milvus_finger_index:MilvusFingerIndex.from_options",
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


def create_finger_gallery(name: str, options: FingerIndexOptions) -> FingerGallery:
    """An empty finger index of backend ``name`` (FAISS for a backend that has no finger index of its own)."""
    target = FINGER_BUILT_IN.get(name, FINGER_BUILT_IN[DEFAULT_BACKEND])
    return cast(Callable[[FingerIndexOptions], FingerGallery], _resolve(target))(options)


def _built_in(name: str) -> GalleryFactory:
    target = BUILT_IN.get(name)
    if target is None:
        raise UnknownGalleryBackend(name)
    return cast(GalleryFactory, _resolve(target))


def _resolve(target: str) -> object:
    """The object a "module:attribute.path" names, importing the module (only now: its engine loads with it)."""
    module_name, _, attribute = target.partition(":")
    found: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found
