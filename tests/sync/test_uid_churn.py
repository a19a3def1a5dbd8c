"""Issue 13.2: UID churn cannot duplicate — re-keying every UID adopts every timer."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_helpers import Harness

from ical_bridge.localserver import create_app
from ical_bridge.store import StateStore

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_feeds").glob("*.ics"))
_UID = re.compile(rb"^UID:(.*?)\r?$", re.M)


def rekey(data: bytes, salt: str) -> bytes:
    """Every UID replaced by a new one (the same new UID for an event and its overrides)."""

    def new(match: re.Match[bytes]) -> bytes:
        digest = hashlib.sha256(salt.encode() + match.group(1)).hexdigest()[:20]
        return b"UID:" + f"{salt}-{digest}@churned".encode()

    return _UID.sub(new, data)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES),
       salt=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12))
def test_rekeying_every_uid_of_a_sample_feed_creates_and_archives_nothing(
    sample: Path, salt: str
) -> None:
    data = sample.read_bytes()
    churned = rekey(data, salt)
    assert churned != data
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Path(tmp) / "tw.sqlite3", rate_limit=None)
        with StateStore(f"sqlite:///{Path(tmp) / 'state.sqlite3'}") as store:
            harness = Harness(app, store)
            first, _ = harness.run(data)
            made = first.summary["create"]
            plan, report = harness.run(churned)
            assert (plan.summary["create"], plan.summary["archive"]) == (0, 0), plan.to_json()
            assert report is not None and report.ok
            if made:
                assert any(w.code == "uid_changed" for w in plan.warnings)
            # The records follow the new UIDs: a third run has nothing to do at all.
            again, _ = harness.run(churned, apply=False)
            assert again.empty and again.summary["unchanged"] == made
            assert len(harness.timers()) == made
