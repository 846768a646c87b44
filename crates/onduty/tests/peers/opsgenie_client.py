"""Opsgenie's own Python SDK (opsgenie-sdk on PyPI) pointed at onduty: it creates an
alert, looks the request up, acknowledges, notes and closes it by alias, and asks for a
request that does not exist. Prints what it saw as JSON for the Rust test to check."""

import json
import os

import opsgenie_sdk

conf = opsgenie_sdk.configuration.Configuration()
conf.host = os.environ["ONDUTY_URL"]
conf.api_key["Authorization"] = os.environ["GENIE_KEY"]
conf.retry_enabled = False
alerts = opsgenie_sdk.AlertApi(api_client=opsgenie_sdk.api_client.ApiClient(configuration=conf))


def status(request_id):
    data = alerts.get_request_status(request_id=request_id).data
    return {
        "action": data.action,
        "is_success": data.is_success,
        "status": data.status,
        "alert_id": data.alert_id,
        "alias": data.alias,
        "integration_id": data.integration_id,
        "processed_at": data.processed_at.isoformat() if data.processed_at else None,
    }


created = alerts.create_alert(
    create_alert_payload=opsgenie_sdk.CreateAlertPayload(
        message="Checkout is slow", alias="checkout-slow", priority="P2"
    )
)
seen = {"created": status(created.request_id)}
acknowledged = alerts.acknowledge_alert(
    identifier="checkout-slow",
    identifier_type="alias",
    acknowledge_alert_payload=opsgenie_sdk.AcknowledgeAlertPayload(user="sdk", note="on it"),
)
seen["acknowledged"] = status(acknowledged.request_id)
noted = alerts.add_note(
    identifier="checkout-slow",
    identifier_type="alias",
    add_note_to_alert_payload=opsgenie_sdk.AddNoteToAlertPayload(note="found the slow query"),
)
seen["noted"] = status(noted.request_id)
closed = alerts.close_alert(
    identifier="checkout-slow",
    identifier_type="alias",
    close_alert_payload=opsgenie_sdk.CloseAlertPayload(note="index added"),
)
seen["closed"] = status(closed.request_id)
try:
    alerts.get_request_status(request_id="0190c5a4-8f00-7000-8000-000000000000")
    seen["unknown"] = "found"
except opsgenie_sdk.ApiException as e:
    seen["unknown"] = e.status
print(json.dumps(seen))
