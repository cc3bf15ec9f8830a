"""Serialized form of specs and instances.

A spec is serialized once per process-definition version; an instance row holds only
its own part. Deserialized specs are cached per definition id, and an instance is
restored against the cached spec objects (SpiffWorkflow's registry passes objects
through unchanged), so loading an instance costs only its own task tree.
"""
from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from datetime import date
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default import workflow as _task_converters
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG

from engine.spec.dmn import SERIALIZER_CONFIG as DECISION_CONVERTERS

_config = dict(DEFAULT_CONFIG)
_config[ServiceTask] = BpmnTaskSpecConverter  # missing from the stock config (research §4)
_config.update(DECISION_CONVERTERS)
registry = BpmnWorkflowSerializer.configure(_config)
registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
serializer = BpmnWorkflowSerializer(registry)

# A restore parses every task's id, its parent's and its children's from text: four UUIDs per task,
# a third of a restore's time. The same ids come back with every restore of a case (each worker
# process restores a case the other one saved), so their parsed UUIDs (immutable, compared by
# value) are kept; a text UUID() refuses is still refused.
_task_converters.UUID = functools.lru_cache(maxsize=16384)(UUID)


def _dumps(obj) -> str:
    registry._encoder_mode = True  # 3.2's task-data deltas need the registry's encoder
    try:
        return json.dumps(obj, cls=serializer._encoder_cls, ensure_ascii=False)
    finally:
        registry._encoder_mode = False


def spec_to_json(spec, subprocess_specs: dict) -> str:
    return _dumps({
        "spec": serializer.to_dict(spec),
        "subprocess_specs": {k: serializer.to_dict(v) for k, v in sorted(subprocess_specs.items())},
    })


def specs_from_json(text: str):
    dct = json.loads(text)
    return (serializer.from_dict(dct["spec"]),
            {k: serializer.from_dict(v) for k, v in dct["subprocess_specs"].items()})


def instance_from_json(text: str, spec, subprocess_specs: dict) -> BpmnWorkflow:
    dct = json.loads(text)
    serializer.migrate(dct)
    dct["spec"], dct["subprocess_specs"] = spec, subprocess_specs
    return serializer.from_dict(dct)


class SpecCache:
    """Deserialized specs by content hash (ids repeat across databases; hashes don't)."""

    def __init__(self, size: int = 64):
        self._items: OrderedDict[str, tuple] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, spec_hash: str, spec_json_loader) -> tuple:
        with self._lock:
            if spec_hash in self._items:
                self._items.move_to_end(spec_hash)
                return self._items[spec_hash]
        specs = specs_from_json(spec_json_loader())
        with self._lock:
            self._items[spec_hash] = specs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs


spec_cache = SpecCache()
