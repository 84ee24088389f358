"""The Digital Credentials Query Language (OpenID4VP 1.0 §6) as civid's verifier accepts it, and the check that a
presented credential's disclosed claims answer it.

civid verifies only its own credentials, so a query it sends for a relying party may ask only for format
``dc+sd-jwt`` with ``meta.vct_values`` among civid's credential types (``presentation_vct_values``), with key binding
(``require_cryptographic_holder_binding`` never false), one credential per query (``multiple`` never true) and no
``trusted_authorities`` (civid is the only issuer it trusts). Claims are named by claims path pointers (§7: strings,
non-negative array indexes, ``null`` for every element), optionally with ``values`` and ``claim_sets``;
``credential_sets`` pick among the credential queries. Anything else is an ``InvalidInput`` (422) naming the fault.
Unknown properties are ignored, as §6 asks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from civid.errors import InvalidInput

FORMAT = "dc+sd-jwt"
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_CREDENTIALS = 4
MAX_CLAIMS = 40
MAX_PATH = 8
# Claims that are not the person's: the credential's envelope, never asked for by path (civid reports iss, vct,
# and the status itself) and never selectively disclosable.
RESERVED = ("_sd", "_sd_alg", "...", "cnf", "status")
MISSING = object()


class InvalidDcql(InvalidInput):
    """The DCQL query is malformed or asks for what civid does not verify."""

    type_slug = "presentations/invalid-dcql"
    title = "Invalid DCQL query"


def _fail(where: str, message: str) -> InvalidDcql:
    return InvalidDcql(f"dcql_query{where}: {message}")


def _ids(items: Sequence[dict[str, Any]], where: str) -> list[str]:
    seen: list[str] = []
    for index, item in enumerate(items):
        value = item.get("id")
        if value is None:
            continue
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise _fail(f"{where}[{index}].id", "must be 1 to 64 letters, digits, _ or -")
        if value in seen:
            raise _fail(f"{where}[{index}].id", f"{value!r} is used twice")
        seen.append(value)
    return seen


def _check_path(path: Any, where: str) -> None:
    if not isinstance(path, list) or not 1 <= len(path) <= MAX_PATH:
        raise _fail(where, f"path must be a non-empty array of at most {MAX_PATH} elements")
    for element in path:
        ok = element is None or isinstance(element, str) or (type(element) is int and element >= 0)
        if not ok:
            raise _fail(where, "path elements are strings, non-negative integers or null")
    if not isinstance(path[0], str):
        raise _fail(where, "a path starts with a claim name")
    if path[0] in RESERVED:
        raise _fail(where, f"{path[0]!r} is not a claim of the person")


def _check_claims(query: dict[str, Any], where: str) -> None:
    claims = query.get("claims")
    if claims is None:
        if "claim_sets" in query:
            raise _fail(f"{where}.claim_sets", "needs claims")
        return
    if (
        not isinstance(claims, list)
        or not 1 <= len(claims) <= MAX_CLAIMS
        or not all(isinstance(c, dict) for c in claims)
    ):
        raise _fail(f"{where}.claims", f"must be a non-empty array of at most {MAX_CLAIMS} objects")
    ids = _ids(claims, f"{where}.claims")
    paths: list[list[Any]] = []
    for index, claim in enumerate(claims):
        _check_path(claim.get("path"), f"{where}.claims[{index}].path")
        if claim["path"] in paths:
            raise _fail(f"{where}.claims[{index}].path", "the same claim is asked for twice")
        paths.append(claim["path"])
        values = claim.get("values")
        if values is not None and (
            not isinstance(values, list) or not values or not all(isinstance(v, (str, int, bool)) for v in values)
        ):
            raise _fail(f"{where}.claims[{index}].values", "must be a non-empty array of strings, integers or booleans")
    sets = query.get("claim_sets")
    if sets is None:
        return
    if len(ids) != len(claims):
        raise _fail(f"{where}.claims", "every claim needs an id when claim_sets is given")
    if not isinstance(sets, list) or not sets:
        raise _fail(f"{where}.claim_sets", "must be a non-empty array of arrays of claim ids")
    for index, option in enumerate(sets):
        if not isinstance(option, list) or not option or not all(isinstance(i, str) and i in ids for i in option):
            raise _fail(f"{where}.claim_sets[{index}]", "must be a non-empty array of ids of this query's claims")


def _check_credential(query: Any, index: int, vct_allowed: Sequence[str]) -> None:
    where = f".credentials[{index}]"
    if not isinstance(query, dict):
        raise _fail(where, "must be an object")
    if not isinstance(query.get("id"), str):
        raise _fail(f"{where}.id", "is required")
    if query.get("format") != FORMAT:
        raise _fail(f"{where}.format", f"civid verifies {FORMAT} credentials only")
    meta = query.get("meta")
    if not isinstance(meta, dict):
        raise _fail(f"{where}.meta", "is required (an object)")
    vcts = meta.get("vct_values")
    if not isinstance(vcts, list) or not vcts or not all(isinstance(v, str) for v in vcts):
        raise _fail(f"{where}.meta.vct_values", "must be a non-empty array of credential types")
    unknown = [v for v in vcts if v not in vct_allowed]
    if unknown:
        raise _fail(
            f"{where}.meta.vct_values", f"civid verifies only {', '.join(vct_allowed)}, not {', '.join(unknown)}"
        )
    if query.get("multiple", False) is not False:
        raise _fail(f"{where}.multiple", "one credential per query: multiple must be false")
    if query.get("require_cryptographic_holder_binding", True) is not True:
        raise _fail(f"{where}.require_cryptographic_holder_binding", "civid always requires key binding")
    if "trusted_authorities" in query:
        raise _fail(f"{where}.trusted_authorities", "civid verifies its own credentials only")
    _check_claims(query, where)


def validate(query: Any, vct_allowed: Sequence[str]) -> dict[str, Any]:
    """The query, checked (InvalidDcql otherwise)."""
    if not isinstance(query, dict):
        raise _fail("", "must be a JSON object")
    credentials = query.get("credentials")
    if not isinstance(credentials, list) or not 1 <= len(credentials) <= MAX_CREDENTIALS:
        raise _fail(".credentials", f"must be a non-empty array of at most {MAX_CREDENTIALS} credential queries")
    for index, credential in enumerate(credentials):
        _check_credential(credential, index, vct_allowed)
    ids = _ids(credentials, ".credentials")
    sets = query.get("credential_sets")
    if sets is not None:
        if not isinstance(sets, list) or not sets:
            raise _fail(".credential_sets", "must be a non-empty array")
        for index, entry in enumerate(sets):
            options = entry.get("options") if isinstance(entry, dict) else None
            valid = (
                isinstance(options, list)
                and options
                and all(isinstance(o, list) and o and all(i in ids for i in o) for o in options)
            )
            if not valid or not isinstance(entry.get("required", True), bool):
                raise _fail(f".credential_sets[{index}]", "options must be non-empty arrays of credential query ids")
    return query


# --- answering -----------------------------------------------------------------------------------------------
def required_ids(query: dict[str, Any], presented: set[str]) -> str | None:
    """None when the presented credential query ids satisfy the query (§6.4.2), else what is missing."""
    ids = [credential["id"] for credential in query["credentials"]]
    sets = query.get("credential_sets")
    if sets is None:
        missing = [i for i in ids if i not in presented]
        return f"no presentation for {', '.join(missing)}" if missing else None
    for entry in sets:
        if entry.get("required", True) and not any(set(option) <= presented for option in entry["options"]):
            return "no option of a required credential set is presented"
    return None


def _select(value: Any, path: list[Any]) -> list[Any]:
    """Every value the claims path pointer selects in ``value`` (§7.1.1); empty when none."""
    selected = [value]
    for element in path:
        following: list[Any] = []
        for item in selected:
            if isinstance(element, str) and isinstance(item, dict) and element in item:
                following.append(item[element])
            elif element is None and isinstance(item, list):
                following.extend(item)
            elif isinstance(element, int) and isinstance(item, list) and element < len(item):
                following.append(item[element])
        selected = following
    return selected


def _matches(claim: dict[str, Any], found: list[Any]) -> bool:
    values = claim.get("values")
    if not found:
        return False
    if values is None:
        return True
    # Type and value both (§6.3): True is not 1.
    return any(any(type(v) is type(f) and v == f for v in values) for f in found)


def _put(target: dict[str, Any], path: list[Any], source: dict[str, Any]) -> None:
    """Copy the value at ``path`` of ``source`` into ``target`` (the top-level claim, whole, when the path goes
    into an array: the relying party reads the claim as the credential states it)."""
    name = path[0]
    if len(path) == 1 or any(not isinstance(element, str) for element in path):
        target[name] = source[name]
        return
    inner_target, inner_source = target, source
    for element in path[:-1]:
        inner_source = inner_source[element]
        inner_target = inner_target.setdefault(element, {})
    inner_target[path[-1]] = inner_source[path[-1]]


def answered_claims(credential_query: dict[str, Any], disclosed: dict[str, Any]) -> dict[str, Any]:
    """The claims the query asked for, taken from what the holder disclosed; ``InvalidDcql`` is not raised here:
    a claim missing raises ``LookupError`` naming its path (never its value)."""
    claims = credential_query.get("claims")
    if not claims:
        return {}
    found = {index: _select(disclosed, claim["path"]) for index, claim in enumerate(claims)}
    wanted = list(range(len(claims)))
    sets = credential_query.get("claim_sets")
    if sets is not None:
        index_of = {claim["id"]: index for index, claim in enumerate(claims)}
        options = [[index_of[i] for i in option] for option in sets]
        chosen = next((o for o in options if all(_matches(claims[i], found[i]) for i in o)), None)
        if chosen is None:
            raise LookupError("no option of claim_sets is disclosed")
        wanted = chosen
    answer: dict[str, Any] = {}
    for index in wanted:
        if not _matches(claims[index], found[index]):
            raise LookupError("the claim " + "/".join(str(e) for e in claims[index]["path"]) + " is not disclosed")
        _put(answer, claims[index]["path"], disclosed)
    return answer
