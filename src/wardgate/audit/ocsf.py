"""Audit records as OCSF 1.1 events (https://schema.ocsf.io).

- commands on databases → Datastore Activity (class 6005): Read/Update/Query/…;
- commands on HTTP resources → API Activity (class 6003);
- session start/end and authentication failures → Authentication (class 3002);
- everything else (reviews, policy reloads, audit start/stop) → API Activity, Other.

The original wardgate record travels under ``unmapped.wardgate`` so an OCSF file
can still be checked with `wardgate audit verify --jsonl FILE`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wardgate import __version__

OCSF_VERSION = "1.1.0"
DATASTORE, API, AUTHENTICATION = 6005, 6003, 3002
_CATEGORY = {DATASTORE: 6, API: 6, AUTHENTICATION: 3}
_DATASTORE_ACTIVITY = {"read": 1, "write": 2, "session": 4, "ddl": 6, "admin": 99, "unknown": 99}
_API_ACTIVITY = {"GET": 2, "HEAD": 2, "POST": 1, "PUT": 3, "PATCH": 3, "DELETE": 4}
_DB_TYPE = {"postgres": "PostgreSQL", "mysql": "MySQL"}


def _millis(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def _actor(record: dict[str, Any]) -> dict[str, Any]:
    user = {
        "name": record.get("identity", ""),
        "groups": [{"name": g} for g in record.get("groups", [])],
    }
    return {"user": user, "session": {"uid": record.get("session", "")}}


def _endpoint(client: str) -> dict[str, Any]:
    host, _, port = client.rpartition(":")
    return {"ip": host.strip("[]"), "port": int(port)} if port.isdigit() else {}


def _classify(record: dict[str, Any]) -> tuple[int, int]:
    kind = record.get("type")
    if kind == "command" and record.get("protocol") in _DB_TYPE:
        return DATASTORE, _DATASTORE_ACTIVITY.get(str(record.get("kind")), 99)
    if kind == "command":
        method = str(record.get("statement", "")).split(" ", 1)[0]
        return API, _API_ACTIVITY.get(method, 99)
    if kind in ("session_start", "auth_failure"):
        return AUTHENTICATION, 1
    if kind == "session_end":
        return AUTHENTICATION, 2
    return API, 99


def _status(record: dict[str, Any]) -> tuple[int, str]:
    failed = record.get("error") or record.get("decision") in ("deny",)
    failed = failed or record.get("type") == "auth_failure"
    return (2, "Failure") if failed else (1, "Success")


def _specifics(class_uid: int, record: dict[str, Any]) -> dict[str, Any]:
    if class_uid == DATASTORE:
        return {
            "database": {"name": record.get("database", ""), "type": _DB_TYPE[record["protocol"]]},
            "query_info": {
                "query_string": record.get("statement", ""),
                "uid": record.get("fingerprint", ""),
            },
        }
    if class_uid == API and record.get("type") == "command":
        method, _, path = str(record.get("statement", "")).partition(" ")
        return {"http_request": {"http_method": method, "url": {"path": path.split(" ")[0]}}}
    return {}


def to_ocsf(record: dict[str, Any]) -> dict[str, Any]:
    """One OCSF event for one wardgate audit record."""
    class_uid, activity = _classify(record)
    status_id, status = _status(record)
    event: dict[str, Any] = {
        "class_uid": class_uid,
        "category_uid": _CATEGORY[class_uid],
        "activity_id": activity,
        "type_uid": class_uid * 100 + activity,
        "time": _millis(str(record["ts"])),
        "severity_id": 3 if status_id == 2 else 1,
        "status_id": status_id,
        "status": status,
        "message": record.get("type", ""),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": record.get("hash", ""),
            "sequence": record.get("seq"),
            "product": {"name": "wardgate", "vendor_name": "wardgate", "version": __version__},
            "log_name": record.get("instance", ""),
        },
        "actor": _actor(record),
        "src_endpoint": _endpoint(str(record.get("client", ""))),
        "unmapped": {"wardgate": record},
    }
    event.update(_specifics(class_uid, record))
    return event
