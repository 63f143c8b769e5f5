#!/usr/bin/python3
"""Validates JSON documents against ovnet's JSON Schemas (schema/*.schema.json), offline.

usage: validate.py SCHEMA_DIR SCHEMA [FILE]

SCHEMA   an object name: "bridge" is SCHEMA_DIR/bridge.schema.json; "bridge[]" an array of them;
         "#/json/pointer" after the name validates against a part of the file
         ("lb-service#/$defs/removed", "bridge#/$defs/spec").
FILE     JSON text: one document or several one after the other (as the tools' outputs
         concatenate); "-" or none reads stdin.

Prints one line per error, "FILE: document N: $.ports[0].mac: MESSAGE", and exits 0 when every
document is valid, 1 when one is not, 2 on bad usage or unreadable input. Every schema file is
loaded into one registry under its $id, so "$ref"s between files resolve without a network.
Needs python3-jsonschema (Debian 12: 4.10; newer versions' "referencing" is used when present).
"""
import json
import os
import sys

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

BASE = "https://ovnet.invalid/schema/"


def load_schemas(schema_dir):
    """{$id: schema} of every *.schema.json in schema_dir."""
    store = {}
    for f in sorted(os.listdir(schema_dir)):
        if f.endswith(".schema.json"):
            with open(os.path.join(schema_dir, f), encoding="utf-8") as fh:
                s = json.load(fh)
            store[s.get("$id", BASE + f)] = s
    return store


def validator_for(store, spec):
    """A validator for SCHEMA as the usage above describes it."""
    array = spec.endswith("[]")
    if array:
        spec = spec[:-2]
    name, _, pointer = spec.partition("#")
    uri = BASE + name + ".schema.json"
    if uri not in store:
        raise KeyError(f"no schema {name} ({name}.schema.json)")
    ref = {"$ref": uri + ("#" + pointer if pointer else "")}
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **({"type": "array", "items": ref} if array else ref)}
    try:
        from referencing import Registry, Resource
        registry = Registry().with_resources((k, Resource.from_contents(v)) for k, v in store.items())
        return Draft202012Validator(root, registry=registry)
    except ImportError:
        # The referrer is stored under base_uri: not the file's own $id, or it would hide the file.
        resolver = jsonschema.RefResolver(base_uri=BASE + "validate.py", referrer=root, store=dict(store))
        return Draft202012Validator(root, resolver=resolver)


def json_path(path):
    out = "$"
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p.replace("_", "").replace("-", "").isalnum():
            out += "." + p
        else:
            out += "[" + json.dumps(p) + "]"
    return out


def short(msg, limit=240):
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[:limit] + "..."


def errors(validator, doc):
    """[(json path, message)], one per error, sorted by path."""
    out = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        msg, r = e.message, repr(e.instance)
        if msg.startswith(r) and len(r) > 60:   # the value is at the path already: keep the reason
            msg = r[:56] + "..." + msg[len(r):]
        msg = short(msg)
        if e.context:   # anyOf/oneOf: say which branch came closest and why it failed
            b = best_match(e.context)
            msg += f" (closest: {json_path(b.absolute_path)}: {short(b.message, 160)})"
        if (json_path(e.absolute_path), msg) not in out:   # a part checked twice (root and spec) fails twice
            out.append((json_path(e.absolute_path), msg))
    return out


def documents(text):
    """Every JSON value in text, one after the other."""
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return
        doc, i = dec.raw_decode(text, i)
        yield doc


def main(argv):
    if len(argv) not in (3, 4) or argv[1] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    schema_dir, spec = argv[1], argv[2]
    src = argv[3] if len(argv) == 4 else "-"
    try:
        v = validator_for(load_schemas(schema_dir), spec)
        text = sys.stdin.read() if src == "-" else open(src, encoding="utf-8").read()
        docs = list(documents(text))
    except (OSError, KeyError, ValueError) as e:
        print(f"validate.py: {src}: {e}", file=sys.stderr)
        return 2
    if not docs:
        print(f"{src}: no JSON document", file=sys.stderr)
        return 1
    bad = 0
    for i, d in enumerate(docs, 1):
        for path, msg in errors(v, d):
            print(f"{'stdin' if src == '-' else src}: document {i}: {path}: {msg}")
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
