"""Every command of the README's tour, run as written against ``aiot up``.

The README's shell blocks from "A five-minute tour" on are run in order, in one bash with
``set -e``, in a fresh folder that holds ``.venv`` (a link to this checkout's) and the server's
``aiot-data``. Only what a reader fills in is filled in: the server's address and MQTT port
(the test's free ports for 8080 and 1883), ``TOKEN=...`` (the token ``devices add`` printed),
``ID`` (an alarm's id from ``alarms list``), the package file and ``$PACKAGE_ID`` (the id the
upload answers), and the data folder of the benchmarks. ``aiot up`` is the test's own server;
``telemetry tail`` runs until it is stopped, so it is stopped after 3 s. Anything else that
fails fails the test, with the command and what it printed.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
_ALARM = """alarm_id() {
  for _ in $(seq 100); do
    found=$(.venv/bin/aiot alarms list --json | python3 -c \\
      'import json,sys; a=json.load(sys.stdin); print(a[0]["id"] if a else "")')
    [ -n "$found" ] && { echo "$found"; return; }
    sleep 0.3
  done
  echo "no alarm came" >&2; return 1
}
"""
_ID_OF = """ | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"""


def _tour(readme: str, url: str, mqtt_port: int) -> str:
    """The tour's shell blocks as one script, with what a reader fills in filled in."""
    tour = readme[readme.index("## A five-minute tour") :]
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", tour, re.S)
    script = "\n".join(blocks)
    script = script.replace("http://127.0.0.1:8080", url).replace("localhost:8080", url)
    script = script.replace("-p 1883", f"-p {mqtt_port}")
    script = re.sub(r"^\.venv/bin/aiot up\b.*$", ": aiot up is the test server", script, flags=re.M)
    script = re.sub(
        r"^TOKEN=\.\.\..*$",
        "TOKEN=$(.venv/bin/aiot devices list --json | python3 -c "
        "'import json,sys; print(json.load(sys.stdin)[0][\"access_token\"])')",
        script,
        flags=re.M,
    )
    script = re.sub(
        r"^(\.venv/bin/aiot telemetry tail .*?)(\s+#.*)?$",
        r"timeout 3 \1 || [ $? -eq 124 ]",
        script,
        flags=re.M,
    )
    script = re.sub(r"^(.*\bID\b.*)$", r"ALARM=$(alarm_id)\n\1", script, count=1, flags=re.M)
    script = re.sub(r"\bID\b", "$ALARM", script)
    script = script.replace("../shared/data", str(SHARED))
    upload = re.search(r"^curl -X POST \"[^\n]*packages[^\n]*\\\n[^\n]*", script, re.M)
    if upload is not None:  # the id it answers is the reader's $PACKAGE_ID
        command = re.sub(r"\s+#.*$", "", upload.group(0))
        script = script.replace(upload.group(0), f"PACKAGE_ID=$({command} -s{_ID_OF}")
    return "set -euo pipefail\nhead -c 4096 /dev/urandom > pump-fw-1.2.bin\n" + _ALARM + script


@pytest.mark.skipif(not SHARED.exists(), reason="the benchmark data (../shared/data) is absent")
def test_every_tour_command_works_as_written(tmp_path: Path) -> None:
    server = AiotProcess(tmp_path / "aiot-data")
    server.start()
    try:
        (tmp_path / ".venv").symlink_to(ROOT / ".venv")
        script = _tour((ROOT / "README.md").read_text(), server.url, server.mqtt_port)
        (tmp_path / "tour.sh").write_text(script)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIOT_")}
        env |= {"AIOT_URL": server.url, "COLUMNS": "120"}
        done = subprocess.run(
            ["bash", "-x", "tour.sh"], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, f"{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
        assert "temperature" in done.stdout and "pump-hot" in done.stdout
        assert (tmp_path / "rep" / "plot.png").exists() and (tmp_path / "r.parquet").exists()
        with server.admin() as api:
            alarm = api.get("/api/alarms", params={"device": "pump-1"}).json()[0]
            assert alarm["status"] in ("ACTIVE_ACK", "CLEARED_ACK")
            assert alarm["verdict"]["fault_type"] == "bearing"
            assert api.get("/api/devices/pump-1/firmware").json()["package"] is not None
            assert [t["id"] for t in api.get("/api/tenants").json()] == ["acme", "default"]
    finally:
        server.stop()
