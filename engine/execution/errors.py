"""Errors of a model at run time, shared by the runtime and the inbox projection."""
from __future__ import annotations


class EngineStepFailed(Exception):
    """A model error at run time (script, condition, missing branch); nothing was saved."""

    def __init__(self, element_id: str | None, element_name: str | None, reason: str):
        self.element_id, self.element_name, self.reason = element_id, element_name, reason
        if element_name and element_name != element_id:
            where = f"“{element_name}”（{element_id}）"
        else:
            where = element_id or "未知环节"
        super().__init__(f"流程在环节{where}执行失败：{reason}。操作已撤销，案件保持原状。")
