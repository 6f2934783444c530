"""Writing workflows back: `Workflow` to plain data, and to YAML, JSON or TOML text.

`loads_workflow` reads what `dump_workflow` writes back equal. TOML is written by
tomli-w (``pip install 'casework-flow[toml]'``), YAML by PyYAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ._definition import (
    DEFAULT_HANDOVERS,
    Approval,
    AssignScope,
    ConsentOverride,
    HandoverRule,
    State,
    Transition,
    Workflow,
)
from ._file_readers import Format
from ._guard_data import duration_text, guard_to_data
from ._guards import ALWAYS
from ._handover import OnClose, OnTransfer
from ._links import Closing, LinkRule
from ._parts import OnMove
from ._property_specs import PAIRED, PropertySpec, Term
from ._requirements import Requirement
from ._timing import Timer
from .exceptions import WorkflowError

__all__ = ["dump_workflow", "workflow_to_dict"]

_FLOW_MAX: Final = 4


def _personal_doc(workflow: Workflow) -> dict[str, Any]:
    """Who may read, erase and reach across units, where not the defaults."""
    doc: dict[str, Any] = {}
    if workflow.personal_roles:
        doc["personal_roles"] = sorted(workflow.personal_roles)
    if workflow.log_personal_reads:
        doc["log_personal_reads"] = True
    if workflow.cross_unit_roles:
        doc["cross_unit_roles"] = sorted(workflow.cross_unit_roles)
    if workflow.erase_roles != frozenset({"supervisor"}):
        doc["erase_roles"] = sorted(workflow.erase_roles)
    kept = workflow.retention
    if kept is not None:
        more = duration_text(kept.more) if kept.more else ""
        keep = f"P{kept.years}Y{more[1:]}" if kept.years else more
        doc["retention"] = {"keep": keep, **({"erase": True} if kept.erase else {})}
    return doc


def workflow_to_dict(workflow: Workflow) -> dict[str, Any]:
    """Return the document form of a workflow (defaults left out)."""
    doc: dict[str, Any] = {"name": workflow.name, "version": workflow.version}
    if workflow.description:
        doc["description"] = workflow.description
    doc["initial"] = workflow.initial
    doc["locales"] = list(workflow.locales)
    if workflow.roles:
        doc["roles"] = sorted(workflow.roles)
    if workflow.personal:
        doc["personal"] = sorted(workflow.personal)
    if workflow.record_roles:
        doc["record_roles"] = sorted(workflow.record_roles)
    if workflow.assign_roles != frozenset({"supervisor"}):
        doc["assign_roles"] = sorted(workflow.assign_roles)
    doc |= _handing_over_doc(workflow)
    doc |= _personal_doc(workflow)
    if workflow.links:
        doc["links"] = {k: _link_doc(r) for k, r in workflow.links.items()}
    if workflow.requirements:
        doc["requirements"] = requirements_doc(workflow.requirements)
    doc["states"] = [_state_doc(s) for s in workflow.states]
    doc["transitions"] = [_transition_doc(t) for t in workflow.transitions]
    if workflow.properties:
        doc["properties"] = properties_doc(workflow.properties)
    return doc


def _handing_over_doc(workflow: Workflow) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if workflow.assign_scope is not AssignScope.UNIT:
        doc["assign_scope"] = str(workflow.assign_scope)
    if workflow.unit_follows_assignee:
        doc["unit_follows_assignee"] = True
    if workflow.handovers != DEFAULT_HANDOVERS:
        doc["handovers"] = {k: _handover_doc(r) for k, r in workflow.handovers.items()}
    return doc


def _override_doc(o: ConsentOverride) -> dict[str, Any]:
    return {"roles": sorted(o.roles), "reason_codes": list(o.reason_codes)}


def _handover_doc(r: HandoverRule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("send", "answer", "on_behalf", "access"):
        value = getattr(r, key)
        if value:
            out[key] = sorted(value)
    if r.guard is not ALWAYS:
        out["guard"] = guard_to_data(r.guard)
    if r.override is not None:
        out["override"] = _override_doc(r.override)
    if r.on_close is not OnClose.CANCEL:
        out["on_close"] = str(r.on_close)
    if r.on_transfer is not OnTransfer.CANCEL:
        out["on_transfer"] = str(r.on_transfer)
    return out


def _approval_doc(a: Approval) -> dict[str, Any]:
    out: dict[str, Any] = {"roles": sorted(a.roles)}
    if a.kind:
        out["kind"] = a.kind
    if a.not_assignee:
        out["not_assignee"] = True
    if a.self_approve:
        out["self_approve"] = sorted(a.self_approve)
    if a.direct:
        out["direct"] = True
    if a.on_move is not OnMove.REFUSE:
        out["on_move"] = str(a.on_move)
    if a.on_transfer is not OnTransfer.CANCEL:
        out["on_transfer"] = str(a.on_transfer)
    if a.quorum != 1:
        out["quorum"] = a.quorum
    if a.rejections != 1:
        out["rejections"] = a.rejections
    return out


def _state_doc(s: State) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id}
    if s.labels:
        out["labels"] = dict(s.labels)
    if s.description:
        out["description"] = s.description
    if s.terminal:
        out["terminal"] = True
    if s.deadline is not None:
        d: dict[str, Any] = {"within": duration_text(s.deadline.within)}
        if s.deadline.working:
            d["working"] = True
        if s.deadline.pause_in:
            d["pause_in"] = sorted(s.deadline.pause_in)
        out["deadline"] = d
    if s.timers:
        out["timers"] = [_timer_doc(t) for t in s.timers]
    if s.requirements:
        out["requirements"] = list(s.requirements)
    if s.invariant is not ALWAYS:
        out["invariant"] = guard_to_data(s.invariant)
    return {**out, **_stage_doc(s)}


def _stage_doc(s: State) -> dict[str, Any]:
    """The keys of a stage, a track or a final state (none for a plain state)."""
    shown = {
        "final": s.final or None,
        "on_done": s.on_done,
        "parallel": s.parallel or None,
        "initial": s.initial,
        "history": s.history or None,
    }
    out: dict[str, Any] = {k: v for k, v in shown.items() if v is not None}
    if s.states:
        out["states"] = [_state_doc(c) for c in s.states]
    return out


def _timer_doc(t: Timer) -> dict[str, Any]:
    out: dict[str, Any] = {"after": duration_text(t.after), "event": t.event}
    if t.working:
        out["working"] = True
    if t.reason:
        out["reason"] = t.reason
    if t.reason_code:
        out["reason_code"] = t.reason_code
    if t.name != t.event:
        out["name"] = t.name
    return out


def _transition_doc(t: Transition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": t.event,
        "source": t.source[0] if len(t.source) == 1 else list(t.source),
    }
    if t.dest is None:
        out["stay"] = True
    else:
        out["dest"] = t.dest
    if t.roles:
        out["roles"] = sorted(t.roles)
    if t.requires:
        out["requires"] = list(t.requires)
    if t.reason_required:
        out["reason_required"] = True
    if t.reason_codes:
        out["reason_codes"] = list(t.reason_codes)
    if t.priority is not None:
        out["priority"] = t.priority
    if t.guard is not ALWAYS:
        out["guard"] = guard_to_data(t.guard)
    if t.labels:
        out["labels"] = dict(t.labels)
    if t.description:
        out["description"] = t.description
    return out | _operations_doc(t)


def _operations_doc(t: Transition) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.approval is not None:
        out["approval"] = _approval_doc(t.approval)
    if t.override is not None:
        out["override"] = _override_doc(t.override)
    if t.reopens:
        out["reopens"] = True
    if t.requirements:
        out["requirements"] = list(t.requirements)
    for key, contract in (("pre", t.pre), ("post", t.post)):
        if contract is not ALWAYS:
            out[key] = guard_to_data(contract)
    return out


def requirements_doc(requirements: Mapping[str, Requirement]) -> dict[str, dict[str, str]]:
    """The ``requirements:`` section as a workflow file writes it."""
    out: dict[str, dict[str, str]] = {}
    for rid, r in requirements.items():
        body = {"title": r.title} if r.title else {}
        if r.source:
            body["source"] = r.source
        out[rid] = body
    return out


def dump_workflow(workflow: Workflow, format: Format) -> str:  # noqa: A002 - document format
    """Write a workflow as YAML, JSON or TOML; `loads_workflow` reads it back equal."""
    doc = workflow_to_dict(workflow)
    if format == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if format == "toml":
        try:
            import tomli_w  # noqa: PLC0415 - an optional extra
        except ImportError:
            msg = "writing TOML needs tomli-w: pip install 'casework-flow[toml]'"
            raise WorkflowError(workflow.name, [msg]) from None
        return tomli_w.dumps(doc)
    if format == "yaml":
        try:
            import yaml  # noqa: PLC0415 - an optional extra
        except ImportError:
            msg = "writing YAML needs PyYAML: pip install 'casework-flow[yaml]'"
            raise WorkflowError(workflow.name, [msg]) from None
        return _yaml(yaml, doc)
    raise WorkflowError(workflow.name, [f"unknown format {format!r}; use yaml, json or toml"])


def _yaml(yaml: Any, doc: dict[str, Any]) -> str:  # noqa: ANN401 - the yaml module
    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        """Small mappings of plain values (labels, simple guards) on one line."""

    def represent(dumper: Any, data: dict[str, Any]) -> Any:  # noqa: ANN401 - PyYAML API
        flat = len(data) <= _FLOW_MAX and all(
            isinstance(v, str | int | float | bool) or v is None for v in data.values()
        )
        return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flat)

    def represent_list(dumper: Any, data: list[Any]) -> Any:  # noqa: ANN401 - PyYAML API
        flat = all(isinstance(v, str | int | float | bool) for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)

    def represent_str(dumper: Any, data: str) -> Any:  # noqa: ANN401 - PyYAML API
        risky = any(c in "\x85\u2028\u2029\ufeff" or not c.isprintable() for c in data)
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"' if risky else None)

    Dumper.add_representer(str, represent_str)
    Dumper.add_representer(dict, represent)
    Dumper.add_representer(list, represent_list)
    out: str = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
    return out


def _link_doc(rule: LinkRule) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": str(rule.type)}
    if rule.roles:
        doc["roles"] = sorted(rule.roles)
    if rule.on_close is not Closing.LEAVE:
        doc["on_close"] = str(rule.on_close)
    if rule.close_event is not None:
        doc["close_event"] = rule.close_event
    return doc


def term_doc(t: Term) -> dict[str, Any]:
    """A proposition as a workflow file writes it."""
    kind, body = t
    if kind in {"all", "any"}:
        return {kind: [term_doc(x) for x in body]}
    if kind == "not":
        return {kind: term_doc(body)}
    if kind == "field_is":
        return {kind: body[0], "value": body[1]}
    if kind == "entry_kind":
        return {kind: body[0], **({"event": body[1]} if body[1] is not None else {})}
    return {kind: True if body is None else body}


def properties_doc(specs: tuple[PropertySpec, ...]) -> list[dict[str, Any]]:
    """The ``properties:`` section as a workflow file writes it."""
    out = []
    for s in specs:
        doc: dict[str, Any] = {"name": s.name}
        terms = [term_doc(t) for t in s.terms]
        doc[s.pattern] = terms if s.pattern in PAIRED else terms[0]
        if s.scope != "globally":
            scoped = [term_doc(t) for t in s.scope_terms]
            doc["scope"] = {s.scope: scoped if len(scoped) == 2 else scoped[0]}  # noqa: PLR2004
        if s.within is not None:
            doc["within"] = duration_text(s.within)
        if s.working:
            doc["working"] = True
        if s.requirements:
            doc["requirements"] = list(s.requirements)
        out.append(doc)
    return out
