#!/usr/bin/env python3
"""An MCP server (stdio, stdlib only) that puts personal data everywhere a
message can carry it, for Bastion's PII filter tests: object keys, JSON
numbers, error messages and data, log and progress notifications, sampling
and elicitation requests, and its own stderr (with terminal control
characters). It also echoes back what it received (arguments, _meta, the
client's answers), so a test can check what crossed Bastion toward it, and
says back what it is told (`say`: the arguments as its structured result), so
a test can check what crosses toward the client.
"""
import json
import sys

RRN = "900101-1234568"
RRN_KEY = "850315-2345671"

TOOLS = [{"name": n, "inputSchema": {"type": "object"}} for n in
         ("echo", "say", "keys", "numbers", "fail", "relay", "stderr", "evasions")]

PENDING = []


def send(msg):
    print(json.dumps({"jsonrpc": "2.0", **msg}, ensure_ascii=False), flush=True)


def messages():
    while True:
        if PENDING:
            yield PENDING.pop(0)
            continue
        line = sys.stdin.readline()
        if not line:
            return
        yield json.loads(line)


def ask(method, params, rid):
    """A server-to-client request; returns the client's reply message."""
    send({"id": rid, "method": method, "params": params})
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("id") == rid and "method" not in msg:
            return msg
        PENDING.append(msg)
    raise SystemExit(0)


def text(s, structured=None):
    r = {"content": [{"type": "text", "text": s}]}
    if structured is not None:
        r["structuredContent"] = structured
    return r


def call(name, args, meta):
    if name == "echo":
        # What reached the server, after Bastion's policy.
        return text(json.dumps({"arguments": args, "meta": meta}, ensure_ascii=False))
    if name == "say":
        return text("said", args)
    if name == "keys":
        return text("keys", {RRN_KEY: "a customer", "rows": [{"kim@example.com": 1}]})
    if name == "numbers":
        return text("numbers", {"id": 9001011234568, "card": 4111111111111111, "count": 3})
    if name == "fail":
        raise CallError(-32000, f"customer {RRN} not found",
                        {"contact": "kim@example.com", RRN_KEY: True})
    if name == "relay":
        send({"method": "notifications/message",
              "params": {"level": "info", "logger": "crm",
                         "data": {"note": "call ０１０－１２３４－５６７８", "lee@example.com": "key"}}})
        if "progressToken" in meta:
            send({"method": "notifications/progress",
                  "params": {"progressToken": meta["progressToken"], "progress": 1, "total": 2,
                             "message": "looking up park@example.com"}})
        sampled = ask("sampling/createMessage",
                      {"messages": [{"role": "user", "content": {
                          "type": "text", "text": "summarise the file of choi@example.com"}}],
                       "maxTokens": 20}, "s-1")
        elicited = ask("elicitation/create",
                       {"message": "Confirm the phone of 김철수 씨",
                        "requestedSchema": {"type": "object",
                                            "properties": {"phone": {"type": "string"}}}}, "e-1")
        return text(json.dumps({"sampled": sampled, "elicited": elicited}, ensure_ascii=False))
    if name == "stderr":
        # A log line an attacker controls: PII, a fake log line after CR/LF
        # tricks, terminal escapes and a bidi override.
        sys.stderr.write(f"lookup rrn {RRN} for kim@example.com\n")
        sys.stderr.write("innocent\r[error] bastion: forged line \x1b[31mred\x1b[0m \u202eevil\x07\n")
        sys.stderr.flush()
        return text("logged")
    if name == "evasions":
        return text("phone ０１０－１２３４－５６７８, mail kim＠example.com, "
                    "rrn 900101\u20131234568, card 4111\u200b 1111 1111 1111, name 김철수 씨")
    raise CallError(-32602, f"unknown tool {name}")


class CallError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def main():
    for msg in messages():
        if "id" not in msg or "method" not in msg:
            continue
        m, p = msg["method"], msg.get("params") or {}
        reply = {"id": msg["id"]}
        if m == "initialize":
            reply["result"] = {"protocolVersion": p.get("protocolVersion", "2025-06-18"),
                               "capabilities": {"tools": {}, "logging": {}},
                               "serverInfo": {"name": "pii", "version": "0"}}
        elif m == "tools/list":
            reply["result"] = {"tools": TOOLS}
        elif m == "tools/call":
            try:
                reply["result"] = call(p["name"], p.get("arguments") or {}, p.get("_meta") or {})
            except CallError as e:
                reply["error"] = {"code": e.code, "message": e.message}
                if e.data is not None:
                    reply["error"]["data"] = e.data
        elif m in ("ping", "logging/setLevel"):
            reply["result"] = {}
        else:
            reply["error"] = {"code": -32601, "message": "not found"}
        send(reply)


if __name__ == "__main__":
    main()
