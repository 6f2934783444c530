"""Workflow files: YAML, JSON and TOML, read with every problem located, and written back.

>>> wf = loads_workflow('''
... name: demo
... version: 1
... initial: open_
... states: [{id: open_}, {id: done, terminal: true}]
... transitions: [{event: close, source: open_, dest: done}]
... ''', format="yaml")
>>> wf
<Workflow demo v1 states=2>

`workflow_schema()` is the JSON Schema of these files, made from the loader's own table
of keys (``casework-flow schema`` prints it).
"""

from ._file_schema import workflow_schema
from ._files import (
    dump_workflow,
    load_workflow,
    loads_workflow,
    workflow_from_dict,
    workflow_to_dict,
)

__all__ = [
    "dump_workflow",
    "load_workflow",
    "loads_workflow",
    "workflow_from_dict",
    "workflow_schema",
    "workflow_to_dict",
]
