"""The bureau's packages plugged into the engine (engine/hooks.py): done once per process,
by everything that opens the database (server, worker, CLI, tests)."""
from __future__ import annotations

from engine import hooks
from paperwork import document_numbers, numbering
from recording import evidence, retention
from workdays import helpers as workday_helpers

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    hooks.script_helpers.extend([workday_helpers.helpers_for, document_numbers.helpers_for])
    hooks.set_business_key(numbering.case_number)
    hooks.completion_checks.append(evidence.check_complete)  # 执法全过程记录: recordings or an approved exception
    hooks.engine_values.append(document_numbers)  # document numbers issued on completion
    hooks.property_checks[document_numbers.PROPERTY] = document_numbers.problems
    hooks.periodic.append(retention.run_monthly)  # monthly purge of expired recordings
    hooks.deadline_variables.update(workday_helpers.DEADLINES)  # statutory deadlines the models compute
    hooks.variable_labels.update(document_numbers.LABELS)
    hooks.set_date_note(workday_helpers.provisional_note)
    _installed = True
