"""PagerDuty's own Python client (pagerduty on PyPI), whose Events API v2 client refuses
any base URL but https://, pointed at onduty over HTTPS and trusting onduty's certificate
(ONDUTY_CA): it triggers, acknowledges and resolves one alert. Prints what it saw as JSON
for the Rust test to check."""

import json
import os
import ssl

import pagerduty

trusted = ssl.create_default_context(cafile=os.environ["ONDUTY_CA"])
events = pagerduty.EventsApiV2Client(
    os.environ["ROUTING_KEY"], base_url=os.environ["ONDUTY_URL"], verify=trusted
)

refused = None
try:
    pagerduty.EventsApiV2Client(os.environ["ROUTING_KEY"], base_url="http://127.0.0.1:1")
except Exception as e:  # the client's UrlError
    refused = str(e)

key = events.trigger(
    "Checkout latency over 2 s",
    "checkout-01",
    dedup_key="checkout/latency",
    severity="error",
    custom_details={"p99_ms": 2300},
)
acknowledged = events.acknowledge(key)
resolved = events.resolve(key)
print(
    json.dumps(
        {
            "plain_http_refused": refused,
            "dedup_key": key,
            "acknowledged": acknowledged,
            "resolved": resolved,
        }
    )
)
