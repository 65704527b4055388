"""Matching loosely written input keys to an object's fields and pipelines.

Forms and exports name the same field ``Email``, ``e-mail address`` or ``EMAIL_ADDRESS``;
keys are compared with case, spaces, underscores and dashes ignored, against each field's
key first and its label second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from crm.core.metadata.model import FieldMeta, ObjectMeta, PipelineMeta, WorkspaceMeta

T = TypeVar("T")
_IGNORED = re.compile(r"[\s_\-]+")
_CACHE: dict[tuple[int, int, int], KeyMatcher] = {}
_CACHE_LIMIT = 1024


@lru_cache(maxsize=8192)
def normalise(key: str) -> str:
    """``"Lead Name"``, ``"lead_name"`` and ``"LEAD-NAME"`` all read ``"leadname"``."""
    return _IGNORED.sub("", key).casefold()


@dataclass(frozen=True)
class KeyMatcher:
    """The fields and pipelines of one object, by normalised key and label."""

    fields: dict[str, FieldMeta]
    pipelines: dict[str, PipelineMeta]

    def field(self, key: str) -> FieldMeta | None:
        return self.fields.get(normalise(key))

    def pipeline(self, name: str) -> PipelineMeta | None:
        return self.pipelines.get(normalise(name))


def _by_name(items: list[tuple[str, str, T]]) -> dict[str, T]:
    """Keys win over labels: labels are added only where no key claimed the name."""
    out: dict[str, T] = {}
    for key, _, item in items:
        out.setdefault(normalise(key), item)
    for _, label, item in items:
        out.setdefault(normalise(label), item)
    return out


def matcher_for(meta: WorkspaceMeta, obj: ObjectMeta) -> KeyMatcher:
    """The key matcher of ``obj`` at this metadata version (built once, then cached)."""
    cache_key = (meta.workspace_id, meta.version, obj.id)
    found = _CACHE.get(cache_key)
    if found is None:
        fields = [(f.key, f.label, f) for f in obj.ordered_fields if not f.holds_links]
        pipelines = [
            (p.key, p.label, p) for p in meta.pipelines.values() if p.object_type_id == obj.id
        ]
        found = KeyMatcher(
            fields=_by_name(fields),
            pipelines=_by_name(pipelines),
        )
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[cache_key] = found
    return found


def find_object(meta: WorkspaceMeta, ref: str) -> ObjectMeta | None:
    """An object type by key or UUID, else (loosely) by key, then label or plural label.

    As with fields, a key wins: an object keyed ``leads`` is found before another object
    whose plural label reads "Leads".
    """
    if ref in meta.objects:
        return meta.objects[ref]
    wanted = normalise(ref)
    objects = list(meta.objects.values())
    for obj in objects:
        if str(obj.uuid) == ref.strip().lower():
            return obj
    for names in (lambda o: (o.key,), lambda o: (o.label, o.plural_label)):
        for obj in objects:
            if wanted in (normalise(n) for n in names(obj)):
                return obj
    return None
