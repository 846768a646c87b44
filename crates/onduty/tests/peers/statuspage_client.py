"""Reads an onduty status page as Statuspage's clients read Atlassian Statuspage:
aRez's Statuspage models parse summary.json, components.json, incidents.json and
scheduled-maintenances.json (a missing or misshapen field raises), and feedparser reads
history.atom and history.rss (a feed that is not well-formed fails).

STATUSPAGE_URL is the page's address (http://127.0.0.1:PORT/status/acme). Prints what
was read as JSON on stdout.
"""
import asyncio
import json
import os
import sys
import urllib.request

import feedparser
from arez.statuspage import Component, Incident, Maintenance, StatusPage

BASE = os.environ["STATUSPAGE_URL"]


async def read_api():
    async with StatusPage(BASE) as page:
        summary = await page.get_status()
        components_doc = await page.request("components.json")
        components = [Component(None, c) for c in components_doc["components"] if not c["group"]]
        by_id = {c.id: c for c in components}
        incidents_doc = await page.request("incidents.json")
        incidents = [Incident(i, by_id) for i in incidents_doc["incidents"]]
        maintenances_doc = await page.request("scheduled-maintenances.json")
        maintenances = [Maintenance(m, by_id) for m in maintenances_doc["scheduled_maintenances"]]
    return {
        "page": {"id": summary.id, "name": summary.name},
        "status": summary.status,
        "summary_incidents": [i.name for i in summary.incidents],
        "summary_components": sorted(c.name for c in summary.components),
        "components": [[c.name, c.status] for c in components],
        "incidents": [
            {
                "name": i.name,
                "status": i.status,
                "impact": i.impact,
                "updates": [u.description for u in i.updates],
                "components": [c.name for c in i.components],
            }
            for i in incidents
        ],
        "maintenances": [[m.name, m.status] for m in maintenances],
    }


def read_feed(name):
    with urllib.request.urlopen(f"{BASE}/{name}") as response:
        feed = feedparser.parse(response.read())
    if feed.bozo:
        sys.exit(f"{name} is not a well-formed feed: {feed.bozo_exception}")
    return {"title": feed.feed.title, "entries": [e.title + ": " + e.summary for e in feed.entries]}


def main():
    seen = asyncio.run(read_api())
    seen["atom"] = read_feed("history.atom")
    seen["rss"] = read_feed("history.rss")
    print(json.dumps(seen))


main()
