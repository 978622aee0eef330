"""Python plugin host for pcap-zmq-plugin (stdlib only).

Usage: python3 runner.py PLUGIN.py
Environment: PCAP_ZMQ_PLUGIN_CONFIG (JSON config), PCAP_ZMQ_PLUGIN_PASS_CONFIG ("1" to pass it).

Reads NDJSON on stdin: each line is one event (an object) or a batch (an array of events).
Calls the plugin's receiver(event[, config]) for each, awaiting it when it is a coroutine
(PokieStream's plugins are async), and acknowledges every line on file descriptor 3:
"ok N" when all N events were accepted, "err K message" when event K+1 failed (the first K were
accepted; the rest of the batch is not attempted, so order is kept on retry).
At start it writes "ready" on fd 3, or "fail message" and exits 2.
"""
import asyncio
import importlib.util
import inspect
import json
import os
import sys
import traceback
from types import SimpleNamespace


def namespace(value):
    # PokieStream hands Python plugins its config as nested SimpleNamespace objects.
    if isinstance(value, dict):
        return SimpleNamespace(**{k: namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [namespace(v) for v in value]
    return value


def one_line(text):
    return " ".join(str(text).split())[:500]


def load(path, ack):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load " + path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(module)
    receiver = getattr(module, "receiver", None)
    if not callable(receiver):
        raise AttributeError("does not define a receiver(data, config) function")
    return module, receiver


def main():
    path = sys.argv[1]
    ack = os.fdopen(3, "w", buffering=1)
    try:
        module, receiver = load(path, ack)
    except Exception as exc:  # report any load failure as one line
        ack.write("fail " + one_line(f"{type(exc).__name__}: {exc}") + "\n")
        ack.flush()
        sys.exit(2)
    config = namespace(json.loads(os.environ.get("PCAP_ZMQ_PLUGIN_CONFIG") or "{}"))
    pass_config = os.environ.get("PCAP_ZMQ_PLUGIN_PASS_CONFIG") == "1"
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    init = getattr(module, "init", None)
    if callable(init):
        try:
            result = init(config)
            if inspect.isawaitable(result):
                loop.run_until_complete(result)
        except Exception as exc:
            ack.write("fail init: " + one_line(exc) + "\n")
            sys.exit(2)
    ack.write("ready\n")
    # A plugin failing on every event would print the same traceback per retry: only the first
    # of each run of failures is printed (the runner reports the error line anyway).
    quiet = False
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        data = json.loads(raw)
        events = data if isinstance(data, list) else [data]
        done = 0
        error = None
        for event in events:
            try:
                result = receiver(event, config) if pass_config else receiver(event)
                if inspect.isawaitable(result):
                    loop.run_until_complete(result)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if not quiet:
                    traceback.print_exc(file=sys.stderr)
                    sys.stderr.flush()
                quiet = True
                break
            done += 1
        sys.stdout.flush()
        if error is None:
            quiet = False
            ack.write(f"ok {done}\n")
        else:
            ack.write(f"err {done} {one_line(error)}\n")
    close = getattr(module, "close", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            loop.run_until_complete(result)
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
