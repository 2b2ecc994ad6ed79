"""A producer process for the durability test: appends events one by one and prints each ack.

Usage: python writer.py SPEC_JSON TOPIC   (runs until it is killed)
"""
import json
import sys

from tests.data.conftest import open_log

spec, topic = json.loads(sys.argv[1]), sys.argv[2]
log = open_log(spec)
i = 0
while True:
    ack = log.append(topic, {"n": i, "payload": "x" * 50}, key=f"user-{i % 7}")
    print(json.dumps([ack.partition, ack.offset, i]), flush=True)
    i += 1
