"""How domain packages plug into the engine, which imports none of them.

The application (``zhifa.bureau.install``) registers, once per process:
- ``script_helpers``: factories giving the functions model code may call, bound to one
  action (e.g. working-day arithmetic, document numbers);
- ``business_key``: the case number a new instance gets when the caller gives none;
- ``completion_checks``: run before a task completes, once its form is valid, with the
  values, raising to refuse it (e.g. missing recordings); ``engine_values``: variables the engine fills in on completion, whatever
  was typed (e.g. document numbers), shown read-only on the form;
- ``task_completed``: run in the transaction that completes a task, once its row says so, with
  the submitted values (e.g. counting 法制审核 outcomes for the dashboard);
- ``property_checks``: deploy-time checks of ``camunda:property`` values by name;
- ``periodic``: work the job worker does on every pass (e.g. the monthly purge);
- ``deadline_variables``: case variables that hold a deadline, with their labels (task pages
  and case headers list them); ``variable_labels``: labels of other variables no form labels
  (e.g. document numbers the engine fills in); ``date_note``: a note on a date computed provisionally
  (e.g. a year whose holidays nobody entered yet), or None.
- ``working_day``: whether a date is a working day (the bureau's holiday calendar), for the
  ``workingDay`` form rule.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Callable, Mapping, Protocol


class EngineValues(Protocol):
    def targets(self, task_spec) -> set[str]: ...

    def issue(self, session, task_spec, case: Mapping[str, Any], submitted: Mapping[str, Any],
              script_engine) -> dict[str, Any]: ...


def _default_business_key(session, process_key: str) -> str:
    return f"{process_key}-{uuid.uuid4().hex[:12]}"


script_helpers: list[Callable[[Any], dict[str, Callable[..., Any]]]] = []
business_key: Callable[[Any, str], str] = _default_business_key
completion_checks: list[Callable[[Any, Any, Any, Mapping[str, Any]], None]] = []  # (session, task, spiff, values)
task_completed: list[Callable[[Any, Any, Mapping[str, Any]], None]] = []  # (session, task, values)
engine_values: list[EngineValues] = []
property_checks: dict[str, Callable[[str], list[str]]] = {}
periodic: list[Callable[[Any], None]] = []
deadline_variables: dict[str, str] = {}
variable_labels: dict[str, str] = {}
date_note: Callable[[Any], str | None] = lambda day: None


def _monday_to_friday(day: date) -> bool:
    return day.weekday() < 5


working_day: Callable[[date], bool] = _monday_to_friday


def set_business_key(generator: Callable[[Any, str], str]) -> None:
    global business_key
    business_key = generator


def set_date_note(note: Callable[[Any], str | None]) -> None:
    global date_note
    date_note = note


def engine_filled(task_spec) -> set[str]:
    """The variables of a task that the engine fills in on completion."""
    return set().union(*(v.targets(task_spec) for v in engine_values)) if engine_values else set()


def set_working_day(test: Callable[[date], bool]) -> None:
    global working_day
    working_day = test
