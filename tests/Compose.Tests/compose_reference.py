#!/usr/bin/env python3
"""The reference side of the corpus test.

Reads what `docker-compose config` printed (stdin) and writes the fields DeployDeck imports as JSON, in
the shape CorpusTests compares: sizes in bytes, durations in seconds, commands split as Compose splits
them (shlex), ports as [container, host, protocol, host_ip]. Deliberately written without any of
DeployDeck's code, so that the two sides can disagree.
"""
import json
import re
import shlex
import sys

import yaml

UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def unescape(value):
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: unescape(v) for k, v in value.items()}
    return value


def size(value):
    if value is None:
        return None
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", str(value).strip())
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def seconds(value):
    if value is None:
        return None
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", value):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}[unit]
    return round(total, 3)


def command(value):
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def port(item):
    if isinstance(item, dict):
        return [int(item["target"]), int(item["published"]) if item.get("published") else None,
                item.get("protocol", "tcp"), item.get("host_ip")]
    spec = str(item)
    protocol = "tcp"
    if "/" in spec:
        spec, protocol = spec.rsplit("/", 1)
    parts = spec.split(":")
    host_ip = ":".join(parts[:-2]) if len(parts) > 2 else None
    host = parts[-2] if len(parts) > 1 and parts[-2] else None
    return [int(parts[-1]), int(host) if host else None, protocol, host_ip or None]


def restart(service):
    if "restart" in service:
        value = service["restart"]
        return "no" if value is False else str(value)
    policy = (service.get("deploy") or {}).get("restart_policy")
    if not policy:
        return "no"
    condition = policy.get("condition", "any")
    if condition == "any":
        return "always"
    if condition == "none":
        return "no"
    attempts = int(policy.get("max_attempts", 0))
    return f"on-failure:{attempts}" if attempts else "on-failure"


def healthcheck(value):
    if value is None:
        return None
    test = value.get("test")
    if value.get("disable"):
        test = ["NONE"]
    if test is None:
        return None
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    return {
        "test": [str(t) for t in test],
        "interval": seconds(value.get("interval")) if "interval" in value else 30.0,
        "timeout": seconds(value.get("timeout")) if "timeout" in value else 30.0,
        "retries": int(value.get("retries", 3)),
        "start_period": seconds(value.get("start_period")) if "start_period" in value else 0.0,
    }


def normalize(name, s):
    resources = (s.get("deploy") or {}).get("resources") or {}
    limits = resources.get("limits") or {}
    reservations = resources.get("reservations") or {}
    # Both given: deploy.resources is applied last by Compose v2, and DeployDeck follows it.
    cpus = limits.get("cpus", s.get("cpus"))
    depends = s.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {d: {"condition": "service_started"} for d in depends}
    labels = s.get("labels") or {}
    return {
        "image": s.get("image"),
        "build": bool(s.get("build")),
        "command": command(s.get("command")),
        "entrypoint": command(s.get("entrypoint")),
        "environment": {k: str(v) for k, v in (s.get("environment") or {}).items() if v is not None},
        "labels": {k: str(v) for k, v in labels.items()},
        "mem_limit": size(limits.get("memory", s.get("mem_limit"))),
        "mem_reservation": size(reservations.get("memory", s.get("mem_reservation"))),
        "memswap_limit": size(s.get("memswap_limit")),
        "cpus": None if cpus is None else round(float(cpus), 3),
        "restart": restart(s),
        "healthcheck": healthcheck(s.get("healthcheck")),
        "depends_on": {k: (v or {}).get("condition", "service_started") for k, v in depends.items()},
        "ports": sorted((port(p) for p in s.get("ports") or []), key=lambda p: (p[0], p[2], p[1] or 0)),
        "profiles": s.get("profiles") or [],
    }


config = unescape(yaml.safe_load(sys.stdin))
print(json.dumps({name: normalize(name, s) for name, s in (config.get("services") or {}).items()}, indent=1, sort_keys=True))
