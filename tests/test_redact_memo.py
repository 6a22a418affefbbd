"""Redactor.text remembers its answers for short strings (an alert storm's labels repeat in
every alert): the answers stay exactly the unmemoised ones, a secret added later is masked in
a string seen before, and the memo is bounded."""

from __future__ import annotations

from mlops_oncall import redact
from mlops_oncall.redact import MASK, Redactor, mask_shapes


def test_memoised_answers_are_the_plain_ones_and_follow_new_secrets():
    r = Redactor(["hunter22"])
    texts = ["severity", "pw hunter22 here", "token=abcdef123456", "plain", "x" * 300]
    first = [r.text(t) for t in texts]
    assert first == [r.text(t) for t in texts]  # from the memo now
    assert first == [mask_shapes(t.replace("hunter22", MASK)) for t in texts]

    assert r.text("model-server-7 down") == "model-server-7 down"
    r.add("model-server-7")  # a secret learnt later (a checks file resolved)
    assert r.text("model-server-7 down") == f"{MASK} down"
    assert r.value({"instance": "model-server-7", "password": "x1"}) == {
        "instance": MASK,
        "password": MASK,
    }


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(redact, "MEMO_SIZE", 10)
    r = Redactor()
    for i in range(25):
        assert r.text(f"value {i}") == f"value {i}"
    assert len(r._memo) <= 10
    assert r.text("a" * (redact.MEMO_MAX_LENGTH + 1)) and len(r._memo) <= 10
