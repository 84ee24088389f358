"""Face gallery backends by name: the setting ``CIVID_GALLERY_BACKEND`` picks one, ``create_gallery`` builds it.

A backend is one class that implements ``matcher.gallery.Gallery`` plus one ``register_backend`` call
(here for the engines civid ships, or in the backend's own module). The store never names a class,
so adding an engine touches no caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from matcher.gallery import DIM, FaissGallery, Gallery

DEFAULT_BACKEND = "faiss"


@dataclass(frozen=True)
class GalleryOptions:
    """What every backend is built from (read from settings once by the gallery store)."""

    exact_max: int = 100_000  # up to this many templates an exact search; above it an approximate index
    nprobe: int = 512  # approximate index: lists (or probes) visited per search
    dim: int = DIM


class UnknownGalleryBackend(ValueError):
    """A gallery backend name that no module registered (a typo in the setting refuses to start)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown gallery backend {name!r} (CIVID_GALLERY_BACKEND); "
                         f"known backends: {', '.join(backend_names())}")
        self.name = name


GalleryFactory = Callable[[GalleryOptions], Gallery]
_BACKENDS: dict[str, GalleryFactory] = {}


def register_backend(name: str, factory: GalleryFactory) -> None:
    """Make ``name`` a valid backend; registering a name again replaces its factory (tests swap one in)."""
    _BACKENDS[name] = factory


def unregister_backend(name: str) -> None:
    """Forget ``name`` (a test removes the backend it registered)."""
    _BACKENDS.pop(name, None)


def backend_names() -> list[str]:
    """The registered backend names, sorted."""
    return sorted(_BACKENDS)


def create_gallery(name: str, options: GalleryOptions) -> Gallery:
    """An empty gallery of backend ``name``; ``UnknownGalleryBackend`` when no such backend is registered."""
    factory = _BACKENDS.get(name)
    if factory is None:
        raise UnknownGalleryBackend(name)
    return factory(options)


def _faiss(options: GalleryOptions) -> Gallery:
    return FaissGallery(exact_max=options.exact_max, nprobe=options.nprobe, dim=options.dim)


register_backend(DEFAULT_BACKEND, _faiss)
