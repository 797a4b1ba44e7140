"""The retraining cron on GitLab. A cron in .gitlab-ci.yml does nothing: GitLab starts scheduled
pipelines from pipeline schedules, which are project settings. So `mlopsgen sync` through GitLab
keeps one schedule, described `mlopsgen: retrain <model>`, in step with
`training.triggers.schedule`: created when missing, updated when cron, ref, time zone or the
active flag differ, deleted when the spec no longer asks for it, and left alone (no write) when
it matches. The description is what makes a schedule mlopsgen's: no other schedule is touched.

Only a sync of the spec's default branch (`ci.defaultBranch`) does this, also with
--merge-request: that sync runs on the default branch after the spec changed there (the generated
pipeline's mlopsgen-sync job), so the spec it reads has landed and only the generated files are
proposed; a cron-only change alters no generated file, so this is the one place it takes effect.
A sync to another branch does not move the schedule there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from generator.deliver.backends import BackendError
from generator.frozen import frozen
from generator.model import Spec
from generator.render.targets.ci import CI_TARGETS

TIMEZONE = "UTC"  # the spec's cron is UTC
BRANCH_PREFIX = "refs/heads/"


def schedule_description(model_name: str) -> str:
    return f"mlopsgen: retrain {model_name}"


def manages_schedule(spec: Spec) -> bool:
    """Whether a sync through the CI host looks at pipeline schedules for this spec at all: when a
    CI target says so (CITarget.manages_schedules)."""
    return any(target.manages_schedules(spec) for target in CI_TARGETS)


@frozen
class Schedule:
    """A pipeline schedule as GitLab lists it."""

    id: int
    description: str
    ref: str  # "main" or, from GitLab 16.x on, "refs/heads/main"
    cron: str
    cron_timezone: str
    active: bool
    owner: str = ""  # username, "" when GitLab did not say


@frozen
class WantedSchedule:
    description: str
    ref: str  # a branch name
    cron: str
    cron_timezone: str = TIMEZONE
    active: bool = True

    def differences(self, have: Schedule) -> dict[str, tuple[object, object]]:
        """field -> (what GitLab has, what the spec wants), for the fields that differ."""
        diff: dict[str, tuple[object, object]] = {}
        if have.cron.split() != self.cron.split():  # GitLab strips the cron; spacing is not a change
            diff["cron"] = (have.cron, self.cron)
        if branch_name(have.ref) != self.ref:
            diff["ref"] = (have.ref, self.ref)
        if have.cron_timezone != self.cron_timezone:
            diff["cron_timezone"] = (have.cron_timezone, self.cron_timezone)
        if have.active is not self.active:
            diff["active"] = (have.active, self.active)
        return diff


def branch_name(ref: str) -> str:
    """GitLab answers a schedule's ref as sent (older versions) or expanded to refs/heads/<branch>."""
    return ref[len(BRANCH_PREFIX):] if ref.startswith(BRANCH_PREFIX) else ref


def wanted_schedule(spec: Spec, branch: str) -> WantedSchedule | None:
    """The schedule the spec asks for on branch; None when no CI target asks the host for one."""
    cron = next((cron for target in CI_TARGETS if (cron := target.retraining_schedule(spec))), None)
    return None if cron is None else WantedSchedule(schedule_description(spec.metadata.name), branch, cron)


class ScheduleForbidden(BackendError):
    """The token may not read or change pipeline schedules; the message is safe to print."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status  # 403, or 400 when GitLab's save service refused the ref


@runtime_checkable
class ScheduleStore(Protocol):
    """A project's pipeline schedules: a repository whose host keeps them (the GitLab backend)."""

    @property
    def name(self) -> str: ...

    def list_schedules(self) -> list[Schedule]: ...

    def create_schedule(self, want: WantedSchedule) -> Schedule: ...

    def update_schedule(self, schedule_id: int, changes: dict[str, object]) -> Schedule: ...

    def take_schedule_ownership(self, schedule_id: int) -> Schedule: ...

    def delete_schedule(self, schedule_id: int) -> None: ...


@dataclass
class ScheduleOutcome:
    # created | updated | unchanged | deleted | absent (none wanted, none there) |
    # would-create | would-update | would-delete (dry run) | skipped (merge-request sync, or not
    # the default branch)
    status: str
    description: str
    wanted: WantedSchedule | None = None
    schedule_id: int | None = None
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)  # ids deleted (or to delete): ours, not kept
    previous_owner: str = ""  # set when mlopsgen took ownership to be allowed to update it
    note: str = ""

    def to_json(self) -> dict[str, object]:
        want = self.wanted
        return {"status": self.status, "description": self.description, "id": self.schedule_id,
                "cron": want.cron if want else None, "cron_timezone": want.cron_timezone if want else None,
                "ref": want.ref if want else None, "active": want.active if want else None,
                "changes": {k: {"from": old, "to": new} for k, (old, new) in self.changes.items()},
                "removed": self.removed, "took_ownership_from": self.previous_owner or None, "note": self.note}

    def summary(self) -> str:
        """One line for the text output: `schedule: <status> ...`."""
        what = f"'{self.description}'"
        if self.wanted is not None:
            what += f" ({self.wanted.cron} {self.wanted.cron_timezone} on {self.wanted.ref})"
        text = f"schedule: {self.status.replace('-', ' ')} {what}"
        if self.changes:
            text += ": " + ", ".join(f"{k} {old!s} -> {new!s}" for k, (old, new) in self.changes.items())
        if self.removed and self.status not in ("deleted", "would-delete"):
            text += f"; duplicates {'to remove' if self.status.startswith('would') else 'removed'}: " + \
                ", ".join(f"#{i}" for i in self.removed)
        if self.previous_owner:
            text += f" (took ownership from @{self.previous_owner}: only a schedule's owner may edit it)"
        if self.note:
            text += f"\n  {self.note}"
        return text


def reconcile(store: ScheduleStore, description: str, want: WantedSchedule | None,
              dry_run: bool = False) -> ScheduleOutcome:
    """Make the project's schedules described `description` be exactly `want` (or none): one
    list request, and writes only for what differs."""
    ours = [s for s in store.list_schedules() if s.description == description]
    if want is None:
        ids = [s.id for s in ours]
        if not ids:
            return ScheduleOutcome("absent", description)
        if dry_run:
            return ScheduleOutcome("would-delete", description, removed=ids)
        for schedule_id in ids:
            store.delete_schedule(schedule_id)
        return ScheduleOutcome("deleted", description, removed=ids)
    if not ours:
        if dry_run:
            return ScheduleOutcome("would-create", description, want)
        created = store.create_schedule(want)
        return ScheduleOutcome("created", description, want, created.id)
    keep = min(ours, key=lambda s: (branch_name(s.ref) != want.ref, s.id))  # the one on the branch, else the oldest
    extra = [s.id for s in ours if s.id != keep.id]
    changes = want.differences(keep)
    if not changes and not extra:
        return ScheduleOutcome("unchanged", description, want, keep.id)
    if dry_run:
        return ScheduleOutcome("would-update", description, want, keep.id, changes, extra)
    outcome = ScheduleOutcome("updated", description, want, keep.id, changes, extra)
    if changes:
        update = {name: new for name, (_old, new) in changes.items()}
        try:
            store.update_schedule(keep.id, update)
        except ScheduleForbidden as exc:
            if exc.status != 403:
                raise
            # GitLab lets only a schedule's owner edit it; a Maintainer may take ownership first
            store.take_schedule_ownership(keep.id)
            outcome.previous_owner = keep.owner or "?"
            store.update_schedule(keep.id, update)
    for schedule_id in extra:
        store.delete_schedule(schedule_id)
    return outcome
