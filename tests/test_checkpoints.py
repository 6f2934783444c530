"""Signed checkpoints: the Merkle tree of RFC 9162, signing, files, and verifying with them."""

from __future__ import annotations

import json
from datetime import timedelta
from hashlib import sha256
from pathlib import Path

import attrs
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework_flow import Engine, ManualClock, seed
from casework_flow._merkle import EMPTY_ROOT, inclusion_path, leaf_hash, root_from_path, tree_root
from casework_flow.checkpoints import (
    CaseHead,
    Checkpoint,
    CheckpointDirectory,
    generate_keys,
    load_private_key,
    load_public_key,
    parse_checkpoint,
    read_checkpoint,
    sign_checkpoint,
    write_checkpoint,
)
from casework_flow.exceptions import CheckpointInvalid, InvalidInput, TrailBroken

from .conftest import START
from .values import bad_texts, json_values, texts

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


# --- the tree, against RFC 9162's recursive definitions -------------------------------------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162, 2.1.1, as written there."""
    if not leaves:
        return sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162, 2.1.3.1, as written there."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=40, unique=True).map(
    lambda data: [leaf_hash(d) for d in data]
)


@given(leaves=leaf_lists, pick=st.integers(0, 10_000))
def test_root_and_paths_are_those_of_rfc_9162(leaves, pick):
    index = pick % len(leaves)
    assert tree_root(leaves) == _mth(leaves)
    path = inclusion_path(leaves, index)
    assert path == _path(index, leaves)
    assert root_from_path(index, len(leaves), leaves[index], path) == _mth(leaves)


@given(leaves=leaf_lists, pick=st.integers(0, 10_000), flip=st.integers(0, 255))
def test_a_path_proves_only_its_own_leaf_and_place(leaves, pick, flip):
    index = pick % len(leaves)
    root = tree_root(leaves)
    path = inclusion_path(leaves, index)
    other = bytes([leaves[index][0] ^ (flip or 1)]) + leaves[index][1:]
    assert root_from_path(index, len(leaves), other, path) != root
    if len(leaves) > 1:
        assert root_from_path((index + 1) % len(leaves), len(leaves), leaves[index], path) != root
    assert root_from_path(index, len(leaves), leaves[index], [*path, root]) is None
    if path:
        assert root_from_path(index, len(leaves), leaves[index], path[:-1]) is None, "too short"
    assert root_from_path(len(leaves), len(leaves), leaves[index], path) is None


def test_the_empty_tree_and_rfc_leaf_prefixes():
    assert tree_root([]) == EMPTY_ROOT == sha256(b"").digest()
    assert leaf_hash(b"x") == sha256(b"\x00x").digest()
    with pytest.raises(IndexError, match="leaf 1 of a tree of 1"):
        inclusion_path([leaf_hash(b"")], 1)


# --- checkpoint values --------------------------------------------------------------------

heads_lists = st.dictionaries(
    texts.filter(bool),
    st.tuples(st.integers(1, 99), st.binary(min_size=32, max_size=32)),
    max_size=30,
).map(lambda d: [CaseHead(c, s, h.hex()) for c, (s, h) in d.items()])


@given(heads=heads_lists)
def test_a_signed_checkpoint_checks_and_proves_every_case(heads):
    cp = sign_checkpoint(heads, START, KEY)
    cp.check(KEY.public_key())
    assert cp.size == len(heads)
    assert [h.case_id for h in cp.heads] == sorted(h.case_id for h in heads)
    for head in heads:
        assert cp.head_of(head.case_id) == head
        proof = cp.prove(head.case_id)
        assert proof is not None
        assert proof.head == head
        assert proof.proves(cp.root)
        assert not proof.proves(sign_checkpoint([], START, KEY).root)
    assert cp.head_of("\x7fnot a case") is None
    assert cp.prove("\x7fnot a case") is None


def _cp(n: int = 5) -> Checkpoint:
    return sign_checkpoint([CaseHead(f"C-{i}", i + 1, f"{i:064x}") for i in range(n)], START, KEY)


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (lambda cp: attrs.evolve(cp, at=cp.at + timedelta(seconds=1)), "signature does not verify"),
        (lambda cp: attrs.evolve(cp, root="00" * 32), "signature does not verify"),
        (lambda cp: attrs.evolve(cp, size=cp.size - 1), "signature does not verify"),
        (lambda cp: attrs.evolve(cp, signature="00" * 64), "signature does not verify"),
        (lambda cp: attrs.evolve(cp, heads=cp.heads[:-1]), "signed for 5 cases but holds 4"),
        (
            lambda cp: attrs.evolve(cp, heads=(*cp.heads[:-1], attrs.evolve(cp.heads[-1], seq=9))),
            "heads do not give the signed root",
        ),
        (
            lambda cp: attrs.evolve(cp, heads=(*cp.heads[:-1], cp.heads[0])),
            "holds a case twice",
        ),
        (lambda cp: sign_checkpoint(cp.heads, cp.at, OTHER_KEY), "not by the key given"),
    ],
)
def test_an_altered_or_foreign_checkpoint_is_refused(tamper, says):
    with pytest.raises(CheckpointInvalid, match=says):
        tamper(_cp()).check(KEY.public_key())


def test_the_signed_bytes_are_a_label_and_the_jcs_tree_head():
    cp = _cp(2)
    label, head = cp.signed_bytes().split(b"\n", 1)
    assert label == b"casework_flow checkpoint"
    assert json.loads(head) == {k: v for k, v in cp.header().items() if k != "signature"}
    KEY.public_key().verify(bytes.fromhex(cp.signature), cp.signed_bytes())


# --- files and keys -----------------------------------------------------------------------


def test_a_checkpoint_file_round_trips_and_is_checked_when_read(tmp_path):
    cp = _cp()
    sink = CheckpointDirectory(tmp_path / "checkpoints")
    path = sink(cp)
    assert path.name == "checkpoint-20240304T013000000000Z.jsonl"
    assert read_checkpoint(path, KEY.public_key()) == cp
    assert sink.latest(KEY.public_key()) == cp
    assert not list(path.parent.glob(".*partial"))
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace('"seq":3', '"seq":4')
    path.write_text("\n".join(lines))
    with pytest.raises(CheckpointInvalid, match="heads do not give the signed root") as info:
        read_checkpoint(path, KEY.public_key())
    assert info.value.source == str(path)
    assert CheckpointDirectory(tmp_path / "none").latest(KEY.public_key()) is None


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([], "checkpoint: it is empty"),
        (["{"], "line 1: not JSON"),
        (["[1]"], "line 1: not a JSON object"),
        (['{"checkpoint": 2}'], "unknown checkpoint format 2"),
        (['{"checkpoint": true}'], "unknown checkpoint format True"),
        (['{"checkpoint": 1}'], "malformed checkpoint"),
        (
            [
                (
                    '{"checkpoint":1,"at":"2024-03-04T01:30:00+00:00","size":1,"root":"zz",'
                    '"key_id":"00","signature":"00"}'
                )
            ],
            "malformed checkpoint",
        ),
        (
            [json.dumps(_cp(1).header()), '{"case_id": "C-0", "seq": true, "hash": "00"}'],
            "malformed",
        ),
        (
            [json.dumps(_cp(1).header()), '{"case_id": 7, "seq": 1, "hash": "00"}'],
            "expected a string, got 7",
        ),
        (
            [json.dumps(_cp(1).header()), '{"case_id": "\\ud800", "seq": 1, "hash": "00"}'],
            "lone surrogate",
        ),
        (["[" * 100_000], "line 1: not JSON"),
    ],
)
def test_an_unreadable_checkpoint_names_its_line(lines, says):
    with pytest.raises(CheckpointInvalid, match=says):
        parse_checkpoint(lines)


def test_keys_are_written_once_and_read_back(tmp_path):
    key = generate_keys(tmp_path / "ck.pem", tmp_path / "ck.pub")
    assert (tmp_path / "ck.pem").stat().st_mode & 0o777 == 0o600
    cp = sign_checkpoint([], START, load_private_key(tmp_path / "ck.pem"))
    cp.check(load_public_key(tmp_path / "ck.pub"))
    cp.check(key.public_key())
    with pytest.raises(InvalidInput, match="exists already"):
        generate_keys(tmp_path / "ck.pem", tmp_path / "other.pub")
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_private_key(tmp_path / "missing.pem")
    with pytest.raises(InvalidInput, match="no unencrypted PEM private key"):
        load_private_key(tmp_path / "ck.pub")
    with pytest.raises(InvalidInput, match="no PEM public key"):
        load_public_key(tmp_path / "ck.pem")
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "ec.pub").write_bytes(
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(InvalidInput, match="not an Ed25519 key"):
        load_private_key(tmp_path / "ec.pem")
    with pytest.raises(InvalidInput, match="not an Ed25519 key"):
        load_public_key(tmp_path / "ec.pub")


# --- the engine ---------------------------------------------------------------------------


@pytest.fixture
def played(seed_workflow):
    clock = ManualClock(START)
    engine = Engine([seed_workflow], clock=clock)
    for n in range(3):
        engine.open(seed.WORKFLOW, f"MDN-{n}", actor=seed.OUTREACH, assignee=seed.WORKER.id)
    clock.advance(timedelta(hours=1))
    return engine, clock


def test_the_engine_signs_every_head_and_hands_the_checkpoint_to_its_sink(played):
    engine, clock = played
    kept: list[Checkpoint] = []
    cp = engine.checkpoint(KEY, sink=kept.append)
    assert kept == [cp]
    assert cp.at == clock()
    assert [(h.case_id, h.head) for h in cp.heads] == [
        (f"MDN-{n}", engine.trail(f"MDN-{n}")[-1].head) for n in range(3)
    ]
    cp.check(KEY.public_key())
    assert engine.verify("MDN-1", checkpoint=cp).ok
    assert engine.verify_store(checkpoint=cp).ok
    assert engine.verify_store(checkpoint=cp).checked == 3


def test_a_case_that_went_on_after_the_checkpoint_still_verifies(played):
    engine, clock = played
    cp = engine.checkpoint(KEY)
    engine.record("MDN-1", "home_visit", actor=seed.WORKER)
    clock.advance(timedelta(minutes=5))
    engine.open(seed.WORKFLOW, "MDN-9", actor=seed.OUTREACH)
    later = engine.checkpoint(KEY)
    result = engine.verify_store(checkpoint=[cp, later])
    assert (result.ok, result.checked) == (True, 4)


def test_a_case_opened_before_a_checkpoint_that_lacks_it_is_reported(played):
    engine, _ = played
    cp = engine.checkpoint(KEY)
    partial = sign_checkpoint(cp.heads[1:], cp.at, KEY)
    checked = engine.verify("MDN-0", checkpoint=partial)
    assert (checked.ok, checked.broken_at) == (False, 1)
    assert "before the checkpoint" in (checked.problem or "")
    assert [b.case_id for b in engine.verify_store(checkpoint=partial).broken] == ["MDN-0"]


def test_a_case_the_checkpoint_holds_and_the_store_lost_is_reported(played, seed_workflow):
    engine, _ = played
    cp = engine.checkpoint(KEY)
    fresh = Engine([seed_workflow], clock=ManualClock(START))
    for n in (0, 2):
        fresh.import_trail(json.dumps(e.to_json()) for e in engine.trail(f"MDN-{n}"))
    result = fresh.verify_store(checkpoint=cp)
    assert not result.ok
    assert [(b.case_id, b.broken_at) for b in result.broken] == [("MDN-1", 1)]
    assert "it was deleted" in (result.broken[0].problem or "")
    with pytest.raises(TrailBroken, match="MDN-1"):
        result.raise_if_broken()


# --- the command line ---------------------------------------------------------------------


def test_the_command_line_makes_keys_takes_checkpoints_and_verifies(tmp_path, capsys):
    from casework_flow import SQLiteStore  # noqa: PLC0415
    from casework_flow.cli import main  # noqa: PLC0415

    db = tmp_path / "cases.sqlite3"
    with SQLiteStore(db) as store:
        engine = Engine([seed.build_workflow()], store=store, clock=ManualClock(START))
        engine.open(seed.WORKFLOW, "MDN-1", actor=seed.OUTREACH, assignee=seed.WORKER.id)
        trail = [json.dumps(e.to_json()) for e in engine.trail("MDN-1")]
    key, pub = tmp_path / "ck.pem", tmp_path / "ck.pub"
    assert main(["keygen", str(key), str(pub)]) == 0
    assert main(["keygen", str(key), str(pub)]) == 1
    assert "exists already" in capsys.readouterr().err
    out = tmp_path / "checkpoints"
    assert (
        main(["checkpoint", str(db), "--key", str(key), "--out", str(out), "--format", "json"]) == 0
    )
    made = json.loads(capsys.readouterr().out)
    assert made["size"] == 1
    assert Path(made["file"]).parent == out
    wf = str(seed.workflow_path())
    cp = made["file"]
    args = ["verify", str(db), "--workflow", wf, "--checkpoint", cp, "--public-key", str(pub)]
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "checked": 1, "broken": []}
    exported = tmp_path / "MDN-1.jsonl"
    exported.write_text(trail[0] + "\n")
    assert main(["verify", str(exported), "--checkpoint", cp, "--public-key", str(pub)]) == 0
    capsys.readouterr()
    (tmp_path / "empty.sqlite3").write_bytes(db.read_bytes())
    with SQLiteStore(tmp_path / "empty.sqlite3") as store:
        store._conn().execute("DELETE FROM casework_entries")
        store._conn().execute("DELETE FROM casework_cases")
        store._conn().commit()
    gone = ["verify", str(tmp_path / "empty.sqlite3"), *args[2:]]
    assert main(gone) == 1
    assert "MDN-1: BROKEN at entry 1: the checkpoint of" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["verify", "nowhere.sqlite3", "--workflow", "{wf}"], "no such database file"),
        (["verify", "{db}"], "--workflow: verifying a database folds each trail"),
        (["verify", "{db}", "--workflow", "{wf}", "--checkpoint", "cp.jsonl"], "--public-key"),
        (["checkpoint", "{db}", "--key", "missing.pem", "--out", "o"], "cannot be read"),
    ],
)
def test_the_command_line_says_what_is_missing(tmp_path, capsys, argv, says, monkeypatch):
    from casework_flow import SQLiteStore  # noqa: PLC0415
    from casework_flow.cli import main  # noqa: PLC0415

    monkeypatch.chdir(tmp_path)
    SQLiteStore(tmp_path / "db.sqlite3").close()
    filled = [a.format(db="db.sqlite3", wf=seed.workflow_path()) for a in argv]
    assert main(filled) == 1
    assert says in capsys.readouterr().err


# --- what the stores give for it ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_every_store_lists_heads_and_scans_cases_with_their_trails_by_pages(kind, tmp_path):
    from . import stores  # noqa: PLC0415

    with stores.make_store(kind, tmp_path) as store:
        engine = Engine([seed.build_workflow()], store=store, clock=ManualClock(START))
        ids = [f"S-{n:02}" for n in range(7)]
        for case_id in reversed(ids):
            engine.open(seed.WORKFLOW, case_id, actor=seed.OUTREACH, assignee=seed.WORKER.id)
        engine.record("S-03", "home_visit", actor=seed.WORKER)
        assert list(store.heads()) == [(c, engine.trail(c)[-1].head) for c in ids]
        pages, after = [], None
        while True:
            page = store.scan(after=after, limit=3)
            pages.append([s.case_id for s in page])
            if len(page) < 3:
                break
            after = page[-1].case_id
        assert pages == [ids[:3], ids[3:6], ids[6:]]
        third = store.scan(after="S-02", limit=1)[0]
        assert third.case == engine.get("S-03")
        assert third.trail == tuple(engine.trail("S-03"))
        assert (third.head, third.problem) == (engine.trail("S-03")[-1].head, None)
        assert store.stray_trails() == ()
        assert engine.verify_store().checked == 7


def test_two_checkpoints_are_consistent_only_if_cases_were_appended_to():
    from casework_flow.checkpoints import consistency_problems  # noqa: PLC0415

    old = _cp(3)
    grown = sign_checkpoint(
        [attrs.evolve(old.heads[0], seq=9, hash="ab" * 32), *old.heads[1:], CaseHead("D", 1, "cd")],
        old.at + timedelta(hours=1),
        KEY,
    )
    assert consistency_problems(old, grown) == ()
    assert consistency_problems(old, old) == ()
    bad = sign_checkpoint(
        [attrs.evolve(old.heads[1], seq=1), attrs.evolve(old.heads[2], hash="ee" * 32)],
        old.at - timedelta(hours=1),
        KEY,
    )
    assert consistency_problems(old, bad) == (
        "the newer checkpoint (2024-03-04T00:30:00+00:00) is older than the other",
        "C-0: held at entry 1, then gone: deleted",
        "C-1: held at entry 2, then at entry 1: cut short",
        "C-2: entry 3 changed between them: rewritten",
    )


@given(
    case_id=texts.filter(bool),
    seq=st.integers(1, 2**53 - 1),
    digest=st.binary(min_size=32, max_size=32),
)
def test_a_leaf_is_the_hash_of_the_jcs_bytes_of_its_head(case_id, seq, digest):
    import rfc8785  # noqa: PLC0415

    head = CaseHead(case_id, seq, digest.hex())
    jcs = rfc8785.dumps({"case_id": case_id, "hash": digest.hex(), "seq": seq})
    assert head.leaf() == leaf_hash(jcs)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_heads_and_sweeps_go_on_past_a_page(kind, tmp_path, monkeypatch):
    from casework_flow import _engine_audit  # noqa: PLC0415
    from casework_flow.stores import _sqlbase  # noqa: PLC0415

    from . import stores  # noqa: PLC0415

    monkeypatch.setattr(_sqlbase, "_HEADS_PAGE", 2)
    monkeypatch.setattr(_engine_audit, "_SCAN_PAGE", 2)
    with stores.make_store(kind, tmp_path) as store:
        engine = Engine([seed.build_workflow()], store=store, clock=ManualClock(START))
        for n in range(5):
            engine.open(seed.WORKFLOW, f"P-{n}", actor=seed.OUTREACH)
        assert [c for c, _ in store.heads()] == [f"P-{n}" for n in range(5)]
        cp = engine.checkpoint(KEY)
        assert engine.verify_store(checkpoint=cp).checked == 5
        engine.verify_store(checkpoint=cp).raise_if_broken()


def test_a_proof_and_a_checkpoint_file_in_their_other_forms(tmp_path):
    cp = _cp(3)
    proof = cp.prove("C-1")
    assert proof is not None
    assert proof.to_json() == {
        "case_id": "C-1", "seq": 2, "hash": f"{1:064x}", "index": 1, "size": 3,
        "path": list(proof.path),
    }  # fmt: skip
    path = write_checkpoint(cp, tmp_path / "cp.jsonl")
    path.write_text(path.read_text().replace("\n", "\n\n"))
    assert read_checkpoint(path, KEY.public_key()) == cp
    with pytest.raises(CheckpointInvalid, match="cannot be read"):
        read_checkpoint(tmp_path / "missing.jsonl", KEY.public_key())
    assert repr(CheckpointDirectory(tmp_path)) == f"<CheckpointDirectory {tmp_path}>"
    from casework_flow._canonical import canonical  # noqa: PLC0415

    with pytest.raises(ValueError, match="unknown entry format 3"):
        canonical({}, 3)


_HEADER = _cp(1).header()
damaged_checkpoints = st.one_of(
    st.binary(max_size=300),
    st.builds(json.dumps, json_values),
    st.builds(
        lambda key, value: (
            json.dumps({**_HEADER, key: value}) + "\n" + json.dumps(_cp(1).heads[0].to_json())
        ),
        st.sampled_from(sorted(_HEADER)),
        json_values | bad_texts,
    ),
    st.builds(
        lambda key, value: (
            json.dumps(_HEADER) + "\n" + json.dumps({**_cp(1).heads[0].to_json(), key: value})
        ),
        st.sampled_from(["case_id", "seq", "hash"]),
        json_values | bad_texts,
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=damaged_checkpoints)
def test_any_damaged_checkpoint_file_is_refused_by_the_command_line_in_words(
    tmp_path, capsys, content
):
    from casework_flow.cli import main  # noqa: PLC0415

    from . import node  # noqa: PLC0415

    cp = tmp_path / "cp.jsonl"
    cp.write_bytes(
        content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    )
    pub = node.public_pem(KEY, tmp_path)
    trail = tmp_path / "t.jsonl"
    trail.write_text(Path(__file__).with_name("data").joinpath("trail-format-1.jsonl").read_text())
    assert main(["verify", str(trail), "--checkpoint", str(cp), "--public-key", str(pub)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"casework-flow verify: {cp}")
    assert "Traceback" not in err
