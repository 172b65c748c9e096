"""The task-kind registry: every kind of due work an app may create.

A lower layer cannot name the kinds of the apps above it, so each app registers
its kinds in AppConfig.ready() (`register_task_kind("ecm.authorization_decision",
label=..., description=...)`). `task_create` refuses a kind nobody registered, so
a typo fails at once instead of leaving a task no page knows how to label.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskKind:
    key: str
    label: str
    description: str = ""


_kinds: dict[str, TaskKind] = {}


def register_task_kind(key: str, *, label: str, description: str = "") -> TaskKind:
    """Register a kind; registering the same kind again with the same text is a
    no-op (ready() can run more than once), with different text an error."""
    if not key or len(key) > 64:
        raise ValueError("A task kind key is 1-64 characters.")
    kind = TaskKind(key=key, label=label, description=description)
    existing = _kinds.get(key)
    if existing is not None and existing != kind:
        raise ValueError(f"Task kind {key!r} is already registered differently.")
    _kinds[key] = kind
    return kind


def task_kind(key: str) -> TaskKind:
    """The registered kind `key`; LookupError when nobody registered it."""
    try:
        return _kinds[key]
    except KeyError:
        raise LookupError(f"Unknown task kind {key!r}.") from None


def task_kinds() -> list[TaskKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.key)


def task_kind_label(key: str) -> str:
    """The label to show; a kind whose app was removed still shows its key."""
    kind = _kinds.get(key)
    return kind.label if kind is not None else key
