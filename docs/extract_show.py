"""Trim the JSON lines of ``python -m core extract`` to the company name, the technologies with their
evidence, and the people (docs/extract-examples.md)."""

import json
import sys

for line in sys.stdin:
    profile = json.loads(line)
    print(f"## {profile['url']}")
    print(f"name: {profile['name']!r}   tech: {profile['tech']}")
    for tech in profile["technologies"]:
        evidence = tech["evidence"]
        version = f" {tech['version']}" if tech["version"] else ""
        print(f"  - {tech['name']}{version} [{tech['category']}] via {evidence['signal']}: {evidence['snippet'][:90]!r}")
    for person in profile["people"]:
        print(f"  person: {person}")
    print()
