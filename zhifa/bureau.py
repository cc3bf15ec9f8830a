"""The bureau's packages plugged into the engine (engine/hooks.py): done once per process,
by everything that opens the database (server, worker, CLI, tests)."""
from __future__ import annotations

from disclosure import annual
from disclosure import helpers as disclosure_helpers
from engine import hooks
from engine.store import chain
from monitoring import reviews
from paperwork import case_file, document_numbers, issuing, note_forms, numbering
from recording import access, evidence, retention
from workdays import calendar
from workdays import helpers as workday_helpers

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    hooks.script_helpers.extend([workday_helpers.helpers_for, document_numbers.helpers_for,
                                 disclosure_helpers.script_helpers,  # 公示 steps: draft, publish, withdraw
                                 access.helpers_for])                # 调阅: case handlers, 查阅登记簿 entries
    hooks.set_business_key(numbering.case_number)
    hooks.completion_checks.append(evidence.check_complete)  # 执法全过程记录: recordings or an approved exception
    hooks.engine_values.append(document_numbers)  # document numbers issued on completion
    hooks.property_checks[document_numbers.PROPERTY] = document_numbers.problems
    hooks.completion_checks.append(issuing.check_complete)  # a task's 文书 issued, and unchanged since
    hooks.property_checks[issuing.PROPERTY] = issuing.declaration_problems
    hooks.completion_checks.append(issuing.record_service)  # the served copy attached to its document
    hooks.property_checks[issuing.SERVED] = issuing.service_problems
    hooks.property_checks[note_forms.PROPERTY] = note_forms.declaration_problems  # 笔录 made on demand
    hooks.periodic.append(case_file.run_pending)  # 案卷 of finished cases, and those requested
    hooks.periodic.append(retention.run_monthly)  # monthly purge of expired recordings
    hooks.deadline_variables.update(workday_helpers.DEADLINES)  # statutory deadlines the models compute
    hooks.variable_labels.update(document_numbers.LABELS)
    hooks.set_date_note(workday_helpers.provisional_note)
    hooks.periodic.append(chain.anchor_daily)  # the audit chain's head into the write-once store
    hooks.periodic.append(annual.publish_when_due)  # 年度行政执法数据 by 31 January
    hooks.set_working_day(calendar.is_workday_provisional)  # the workingDay form rule
    hooks.task_completed.append(reviews.record)  # 法制审核 outcomes per day, for 办理效率
    _installed = True
