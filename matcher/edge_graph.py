"""Edge-graph fingerprint matching: root pairs found through a hash of edge shapes, a pairing grown along the
edges of both fingers, and a score from how much of the two graphs agrees.

After the algorithm SourceAFIS describes (sourceafis.machinezoo.com/algorithm: edges, edge hash, roots,
pairing tree, supporting edges, scoring); civid's own implementation, arranged for numpy rather than for a
priority queue:

1. **Edges** (per template, once): each minutia is joined to its ``neighbours`` (12) nearest minutiae. An edge's
   shape is its length and the two minutiae's directions relative to it — unchanged when the finger moves or
   turns. Every edge is filed in a hash table keyed by its quantised shape, under every bin its tolerance
   reaches (a sorted key array: one ``searchsorted`` answers all lookups of a comparison at once).
2. **Matching edges**: each edge of B is looked up in A's table; the candidates whose length and both angles
   agree within the tolerances are matching edges. A matching edge links two minutia pairs (its two ends), so
   the matching edges form a graph on minutia pairs.
3. **Roots**: the minutia pairs that the most matching edges touch (ties by index, so deterministic).
4. **Pairing**: from every root, along matching edges between minutia pairs that agree with the root — turned
   as the root is, and lying where the root's rigid alignment puts them, within a tolerance that grows with
   the distance from the root (skin stretches). Without that check a dense print's chance edges join into one
   graph that spans the finger. The pairs a breadth-first walk from the root would reach are the root's
   connected component, so every root's component is labelled at once (hooking and pointer jumping: a few
   array passes, however deep the pairing). A minutia is paired once: where the growth reaches it through
   several pairs, the one with the most matching edges is kept; a pair then left without a matching edge to
   another kept pair is dropped.
5. **Score** of a root's pairing: the matching edges between its pairs (the tree's and the supporting ones),
   each weighted by how closely its length and angles agree (1 exactly, 0 at the tolerances), summed, squared
   and divided by both fingers' minutiae counts (each floored at ``min_count``): a chance pairing is a sparse
   tree of loose edges, a mated one a dense mesh of tight ones, and a print full of spurious minutiae is not
   rewarded for offering more chances. The finger score is the best root's, 0 for no agreement; it is not
   bounded by 1 (a perfect match of a print with itself exceeds it, since a mesh has more edges than
   minutiae). The form was chosen among a few (paired count, supporting edges, fractions) on seven FVC
   databases, FVC2000 DB1 left out (``benchmarks/finger_lodo.py``).

Input minutiae are (N, 3) float32 arrays of x, y in pixels at 500 ppi and θ in radians in the ISO/IEC 19794-2
convention (counter-clockwise, image y pointing down), as ``matcher.mcc`` takes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

TWO_PI = 2 * math.pi


@dataclass(frozen=True)
class EdgeGraphParams:
    """Parameters of the edge-graph matcher (pixels at 500 ppi, radians)."""

    neighbours: int = 12  # edges per minutia, to its nearest minutiae (9 and 6 did worse on the seven dev databases)
    distance_tolerance: float = 13.0  # edge lengths agreeing within this many pixels match
    angle_tolerance: float = math.radians(15)  # ... and both relative angles within this
    rotation_tolerance: float = math.radians(30)  # a pair's turn may differ this much from its root's
    # a pair must lie where its root's rigid alignment puts it, within this many pixels, plus a share of its
    # distance from the root (elastic skin), up to a cap
    position_tolerance: float = 15.0
    distortion: float = 0.15
    max_position_tolerance: float = 45.0
    roots: int = 12  # root pairs grown: the pairs with the most matching edges
    min_count: int = 12  # the score divides by each finger's minutiae count, at least this
    min_minutiae: int = 2  # fewer and a template has no edges: it scores 0 against everything


EDGE_GRAPH = EdgeGraphParams()
SCORE_VERSION = "edge-graph;agreement²/(Na·Nb);v1"  # bump when the score's form changes (benchmark caches key on it)


@dataclass(frozen=True)
class EdgeTemplate:
    """One finger's minutiae, its edges to nearest neighbours and their shape hash (built once, compared often).

    Edges are directed, ``source -> target``, E of them; the hash holds H entries (an edge under every bin
    within its tolerance), sorted by key."""

    minutiae: NDArray[np.float32]  # (N, 3) x, y, θ in the input convention
    types: NDArray[np.int8]  # (N,) ISO minutia type, 0 = other/unknown
    source: NDArray[np.int32]  # (E,)
    target: NDArray[np.int32]  # (E,)
    length: NDArray[np.float32]  # (E,) pixels
    reference_angle: NDArray[np.float32]  # (E,) source direction relative to the edge, [0, 2π)
    neighbour_angle: NDArray[np.float32]  # (E,) target direction relative to the reversed edge, [0, 2π)
    key: NDArray[np.int64]  # (E,) the bin of each edge's shape
    hash_key: NDArray[np.int64]  # (H,) sorted
    hash_edge: NDArray[np.int32]  # (H,) which edge each hash entry files
    params: EdgeGraphParams = field(default=EDGE_GRAPH)

    def __len__(self) -> int:
        return int(self.minutiae.shape[0])


# --- building -----------------------------------------------------------------------------------------
def template(
    minutiae: NDArray[np.float32], types: NDArray[np.integer] | None = None, params: EdgeGraphParams = EDGE_GRAPH
) -> EdgeTemplate:
    """The edge template of an (N, 3) minutiae array (x, y, θ radians) and optional (N,) ISO types."""
    points = np.asarray(minutiae, dtype=np.float64).reshape(-1, 3)
    kinds = np.zeros(len(points), np.int8) if types is None else np.asarray(types, np.int8).reshape(-1)
    finite = np.isfinite(points).all(axis=1)
    points, kinds = points[finite], kinds[finite]
    if len(points) < params.min_minutiae:
        return _empty(points, kinds, params)
    x, y, theta = points[:, 0], -points[:, 1], points[:, 2]  # y up: θ is an ordinary angle
    dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]  # (N, N) from row to column
    distance = np.hypot(dx, dy)
    np.fill_diagonal(distance, np.inf)
    count = min(params.neighbours, len(points) - 1)
    # nearest first, ties by index: stable sort keeps it deterministic
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :count]
    source = np.repeat(np.arange(len(points)), count)
    target = nearest.ravel()
    length = distance[source, target]
    direction = np.arctan2(dy[source, target], dx[source, target])
    reference = np.mod(theta[source] - direction, TWO_PI)
    neighbour = np.mod(theta[target] - direction - math.pi, TWO_PI)
    key = _key(length, reference, neighbour, params)
    hash_key, hash_edge = _coverage(length, reference, neighbour, params)
    order = np.argsort(hash_key, kind="stable")
    return EdgeTemplate(
        minutiae=points.astype(np.float32),
        types=kinds,
        source=source.astype(np.int32),
        target=target.astype(np.int32),
        length=length.astype(np.float32),
        reference_angle=reference.astype(np.float32),
        neighbour_angle=neighbour.astype(np.float32),
        key=key,
        hash_key=hash_key[order],
        hash_edge=hash_edge[order].astype(np.int32),
        params=params,
    )


def _empty(points: NDArray[np.float64], kinds: NDArray[np.int8], params: EdgeGraphParams) -> EdgeTemplate:
    none_i, none_f = np.zeros(0, np.int32), np.zeros(0, np.float32)
    return EdgeTemplate(
        points.astype(np.float32).reshape(-1, 3),
        kinds,
        none_i,
        none_i,
        none_f,
        none_f,
        none_f,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        none_i,
        params,
    )


def _angle_bins(params: EdgeGraphParams) -> int:
    """Bins of a relative angle: the tolerance's width, rounded so that they tile the circle."""
    return max(1, round(TWO_PI / params.angle_tolerance))


def _key(
    length: NDArray[np.float64], reference: NDArray[np.float64], neighbour: NDArray[np.float64], params: EdgeGraphParams
) -> NDArray[np.int64]:
    bins = _angle_bins(params)
    width = TWO_PI / bins
    length_bin = np.floor(length / params.distance_tolerance).astype(np.int64)
    reference_bin = np.floor(reference / width).astype(np.int64) % bins
    neighbour_bin = np.floor(neighbour / width).astype(np.int64) % bins
    return (length_bin * bins + reference_bin) * bins + neighbour_bin


def _coverage(
    length: NDArray[np.float64], reference: NDArray[np.float64], neighbour: NDArray[np.float64], params: EdgeGraphParams
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every (key, edge) such that an edge shape within tolerance of the edge has that key: so one exact-key
    lookup of the other finger's edge finds every candidate (then checked exactly)."""
    bins = _angle_bins(params)
    width = TWO_PI / bins
    tolerance_d, tolerance_a = params.distance_tolerance, params.angle_tolerance

    def span(value: NDArray[np.float64], tolerance: float, step: float) -> tuple[NDArray[np.int64], int]:
        low = np.floor((value - tolerance) / step).astype(np.int64)
        high = np.floor((value + tolerance) / step).astype(np.int64)
        return low, int((high - low).max()) + 1 if len(value) else 1

    low_l, reach_l = span(length, tolerance_d, tolerance_d)
    low_r, reach_r = span(reference, tolerance_a, width)
    low_n, reach_n = span(neighbour, tolerance_a, width)
    high_l = np.floor((length + tolerance_d) / tolerance_d).astype(np.int64)
    high_r = np.floor((reference + tolerance_a) / width).astype(np.int64)
    high_n = np.floor((neighbour + tolerance_a) / width).astype(np.int64)
    step_l = np.arange(reach_l)[None, :, None, None]
    step_r = np.arange(reach_r)[None, None, :, None]
    step_n = np.arange(reach_n)[None, None, None, :]
    bin_l = low_l[:, None, None, None] + step_l
    bin_r = low_r[:, None, None, None] + step_r
    bin_n = low_n[:, None, None, None] + step_n
    inside = (
        (bin_l <= high_l[:, None, None, None])
        & (bin_r <= high_r[:, None, None, None])
        & (bin_n <= high_n[:, None, None, None])
    )
    keys = (bin_l * bins + bin_r % bins) * bins + bin_n % bins
    edges = np.broadcast_to(np.arange(len(length))[:, None, None, None], keys.shape)
    return keys[inside], edges[inside]


# --- comparing ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchingEdges:
    """The matching edges of two templates as a graph on minutia pairs: node k is the pair
    (``pair_a[k]``, ``pair_b[k]``); matching edge m joins nodes ``start[m]`` and ``end[m]``."""

    pair_a: NDArray[np.int64]  # (P,)
    pair_b: NDArray[np.int64]  # (P,)
    start: NDArray[np.int64]  # (M,)
    end: NDArray[np.int64]  # (M,)
    agreement: NDArray[np.float64]  # (M,) 1 where the shapes agree exactly, 0 at the tolerances


def matching_edges(a: EdgeTemplate, b: EdgeTemplate) -> MatchingEdges:
    """Every pair of edges, one of A's and one of B's, whose shapes agree within the tolerances."""
    params = a.params
    low = np.searchsorted(a.hash_key, b.key, side="left")
    high = np.searchsorted(a.hash_key, b.key, side="right")
    counts = high - low
    total = int(counts.sum())
    edge_b = np.repeat(np.arange(len(b.key)), counts)
    first = np.repeat(low - (np.cumsum(counts) - counts), counts)
    edge_a = a.hash_edge[first + np.arange(total)]
    length_gap = np.abs(a.length[edge_a] - b.length[edge_b])
    reference_gap = _circular_gap(a.reference_angle[edge_a], b.reference_angle[edge_b])
    neighbour_gap = _circular_gap(a.neighbour_angle[edge_a], b.neighbour_angle[edge_b])
    agree = (
        (length_gap <= params.distance_tolerance)
        & (reference_gap <= params.angle_tolerance)
        & (neighbour_gap <= params.angle_tolerance)
    )
    edge_a, edge_b = edge_a[agree], edge_b[agree]
    agreement = 1 - 0.5 * (
        length_gap[agree] / params.distance_tolerance
        + (reference_gap[agree] + neighbour_gap[agree]) / (2 * params.angle_tolerance)
    )
    # A matching edge and its reverse (the same two pairs, both stars holding the other end) are one edge.
    width = len(b)
    start_code = a.source[edge_a].astype(np.int64) * width + b.source[edge_b]
    end_code = a.target[edge_a].astype(np.int64) * width + b.target[edge_b]
    low_code, high_code = np.minimum(start_code, end_code), np.maximum(start_code, end_code)
    unique, keep = np.unique(low_code * (len(a) * width) + high_code, return_index=True)
    low_code, high_code = low_code[keep], high_code[keep]
    codes, inverse = np.unique(np.concatenate([low_code, high_code]), return_inverse=True)
    return MatchingEdges(
        pair_a=codes // width,
        pair_b=codes % width,
        start=inverse[: len(unique)],
        end=inverse[len(unique) :],
        agreement=agreement[keep].astype(np.float64),
    )


def _circular_gap(first: NDArray[np.float32], second: NDArray[np.float32]) -> NDArray[np.float32]:
    """The angle between two arrays of angles in [0, 2π), in [0, π] (no modulo: both are already wrapped)."""
    gap = np.abs(first - second)
    result: NDArray[np.float32] = np.minimum(gap, np.float32(TWO_PI) - gap)
    return result


@dataclass(frozen=True)
class Pairings:
    """Every candidate pairing, summarised for scoring: (C,) arrays, one entry per pairing."""

    paired: NDArray[np.int64]  # minutia pairs kept
    edges: NDArray[np.int64]  # matching edges between kept pairs
    agreement: NDArray[np.float64]  # summed agreement of those edges
    type_hits: NDArray[np.int64]  # kept pairs whose minutia types agree (both known)


def pairings(a: EdgeTemplate, b: EdgeTemplate, graph: MatchingEdges | None = None) -> Pairings:
    """Each root's pairing (the module docstring, steps 3 and 4), every root at once.

    The growth from a root reaches the root's connected component of the matching edges it may use: those
    between minutia pairs that agree with the root — their directions turned as the root's are, and their
    positions where the root's rigid alignment puts them, within a tolerance that grows with the distance from
    the root (skin stretches). Without that a dense print's chance edges join into one graph spanning the
    finger. So instead of one breadth-first walk per root, the components of every root's graph are labelled
    together (hooking and pointer jumping: a few array passes, however deep the pairing). Within a pairing a
    minutia keeps the pair with the most matching edges (then the first), as the crawl would have paired it
    first."""
    params = a.params
    graph = matching_edges(a, b) if graph is None else graph
    nodes = len(graph.pair_a)
    empty = np.zeros(0, np.int64)
    if len(graph.start) == 0:
        return Pairings(empty, empty, np.zeros(0), empty)
    degree = np.bincount(graph.start, minlength=nodes) + np.bincount(graph.end, minlength=nodes)
    roots = np.argsort(-degree, kind="stable")[: params.roots]
    count = len(roots)
    xy_a, theta_a = _frame(a.minutiae)
    xy_b, theta_b = _frame(b.minutiae)
    at_a, at_b = xy_a[graph.pair_a], xy_b[graph.pair_b]  # (P, 2)
    node_turn = theta_b[graph.pair_b] - theta_a[graph.pair_a]  # (P,)
    turn = node_turn[roots]  # (R,)
    cos, sin = np.cos(turn)[:, None], np.sin(turn)[:, None]
    offset_x = at_a[None, :, 0] - at_a[roots, None, 0]  # (R, P): from the root, in A
    offset_y = at_a[None, :, 1] - at_a[roots, None, 1]
    gap_x = at_b[roots, None, 0] + cos * offset_x - sin * offset_y - at_b[None, :, 0]
    gap_y = at_b[roots, None, 1] + sin * offset_x + cos * offset_y - at_b[None, :, 1]
    reach = np.minimum(
        params.position_tolerance + params.distortion * np.hypot(offset_x, offset_y), params.max_position_tolerance
    )
    cos_tolerance = math.cos(params.rotation_tolerance)
    agrees = (gap_x**2 + gap_y**2 <= reach**2) & (
        cos * np.cos(node_turn)[None, :] + sin * np.sin(node_turn)[None, :] >= cos_tolerance
    )  # (R, P)
    root, edge = np.nonzero(agrees[:, graph.start] & agrees[:, graph.end])
    if len(edge) == 0:
        return Pairings(empty, empty, np.zeros(0), empty)
    # every root's graph side by side: node k of root r is r * P + k
    size = count * nodes
    tail, head = root * nodes + graph.start[edge], root * nodes + graph.end[edge]
    label = _components(tail, head, size)
    own = label == np.repeat(label[np.arange(count) * nodes + roots], nodes)  # in its root's component
    degree_in = np.bincount(tail, minlength=size) + np.bincount(head, minlength=size)
    member = np.nonzero(own & (degree_in > 0))[0]
    # one pair per minutia on either side within a pairing: the best connected first
    member = member[np.lexsort((member, -degree_in[member], member // nodes))]
    owner = member // nodes
    _, first = np.unique(owner * len(a) + graph.pair_a[member % nodes], return_index=True)
    member = member[np.sort(first)]
    _, first = np.unique((member // nodes) * len(b) + graph.pair_b[member % nodes], return_index=True)
    kept = np.zeros(size, bool)
    kept[member[first]] = True
    # a pair left with no matching edge to another kept pair came in through a pair that lost its place
    for _ in range(2):
        between = kept[tail] & kept[head]
        linked = np.bincount(tail[between], minlength=size) + np.bincount(head[between], minlength=size)
        kept &= linked > 0
    between = kept[tail] & kept[head]
    types_agree = (a.types[graph.pair_a] == b.types[graph.pair_b]) & (a.types[graph.pair_a] > 0)
    kept_by_root = kept.reshape(count, nodes)
    return Pairings(
        paired=kept_by_root.sum(axis=1),
        edges=np.bincount(root[between], minlength=count),
        agreement=np.bincount(root[between], weights=graph.agreement[edge[between]], minlength=count).astype(
            np.float64
        ),
        type_hits=(kept_by_root & types_agree[None, :]).sum(axis=1),
    )


def _frame(minutiae: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Positions with y up (θ is then an ordinary angle, as edges measure it) and directions."""
    xy = np.stack([minutiae[:, 0].astype(np.float64), -minutiae[:, 1].astype(np.float64)], axis=1)
    return xy, minutiae[:, 2].astype(np.float64)


def _components(tail: NDArray[np.int64], head: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """Connected-component labels of ``size`` nodes joined by edges ``tail``-``head``: each node's label is the
    smallest node id of its component. Hooking roots onto smaller roots, then pointer jumping, until stable
    (rounds grow with the log of a component's diameter, not with it)."""
    parent = np.arange(size)
    while True:
        low, high = parent[tail], parent[head]
        moved = low != high
        if not moved.any():
            return parent
        low, high = np.minimum(low[moved], high[moved]), np.maximum(low[moved], high[moved])
        np.minimum.at(parent, high, low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def root_scores(a: EdgeTemplate, b: EdgeTemplate, found: Pairings) -> NDArray[np.float64]:
    """Each root's score (the module docstring, step 5)."""
    floor = a.params.min_count
    scores: NDArray[np.float64] = found.agreement**2 / (max(len(a), floor) * max(len(b), floor))
    return scores


def similarity(a: EdgeTemplate, b: EdgeTemplate) -> float:
    """The edge-graph score of two fingers: 0 for no agreement, larger the more of both graphs agrees."""
    if a.params != b.params:
        raise ValueError("edge templates built with different parameters cannot be compared")
    if len(a.key) == 0 or len(b.key) == 0:
        return 0.0
    scores = root_scores(a, b, pairings(a, b))
    return float(scores.max()) if len(scores) else 0.0
