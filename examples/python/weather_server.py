#!/usr/bin/env python3
"""A small MCP server using only Python's standard library.

The seed guide's custom Python server, rewritten without third-party
packages: newline-delimited JSON-RPC 2.0 on stdin/stdout (the default), or
stateless Streamable HTTP with JSON answers (`--http HOST:PORT`, POST /mcp),
which is how it runs in its own container in docker-compose.yml. Logs go to
stderr. Its weather data is deterministic and offline (no network is needed,
which is what the sandbox allows by default).
"""
import datetime
import hashlib
import http.server
import json
import sys

PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"]

CITIES = {
    "seoul": {"name": "Seoul", "lat": 37.57, "lon": 126.98},
    "busan": {"name": "Busan", "lat": 35.18, "lon": 129.08},
    "tokyo": {"name": "Tokyo", "lat": 35.68, "lon": 139.69},
    "new york": {"name": "New York", "lat": 40.71, "lon": -74.01},
    "london": {"name": "London", "lat": 51.51, "lon": -0.13},
}
CONDITIONS = ["sunny", "partly cloudy", "cloudy", "light rain", "rain", "snow", "windy"]

TOOLS = [
    {
        "name": "get_weather",
        "title": "Current weather",
        "description": "Current (simulated, deterministic) weather for a city.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Seoul"},
                "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"},
            },
            "required": ["city"],
        },
    },
    {
        "name": "get_forecast",
        "title": "Forecast",
        "description": "A simulated forecast for the next N days (1-7).",
        "inputSchema": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 3},
            },
            "required": ["city"],
        },
    },
    {
        "name": "list_cities",
        "title": "Known cities",
        "description": "The cities this server knows.",
        "inputSchema": {"type": "object", "properties": {}},
    },
]


def log(msg):
    print(f"weather_server: {msg}", file=sys.stderr, flush=True)


def reading(city_key, day):
    digest = hashlib.sha256(f"{city_key}:{day.isoformat()}".encode()).digest()
    temp_c = round(-5 + digest[0] / 255 * 35, 1)
    return {
        "date": day.isoformat(),
        "condition": CONDITIONS[digest[1] % len(CONDITIONS)],
        "temperature_c": temp_c,
        "humidity_pct": 30 + digest[2] % 60,
        "wind_kph": digest[3] % 40,
    }


def find_city(args):
    city = args.get("city")
    if not isinstance(city, str) or not city.strip():
        raise ValueError("argument 'city' must be a non-empty string")
    key = city.strip().lower()
    if key not in CITIES:
        raise ValueError(f"unknown city '{city}'; known: {', '.join(c['name'] for c in CITIES.values())}")
    return key


def tool_result(data, text):
    return {"content": [{"type": "text", "text": text}], "structuredContent": data}


def tool_error(text):
    return {"content": [{"type": "text", "text": text}], "isError": True}


def call_tool(name, args):
    today = datetime.date(2026, 1, 1)
    try:
        if name == "list_cities":
            names = [c["name"] for c in CITIES.values()]
            return tool_result({"cities": names}, ", ".join(names))
        if name == "get_weather":
            key = find_city(args)
            units = args.get("units", "metric")
            r = reading(key, today)
            if units == "imperial":
                r["temperature_f"] = round(r.pop("temperature_c") * 9 / 5 + 32, 1)
            data = {"city": CITIES[key]["name"], **r}
            temp = r.get("temperature_c", r.get("temperature_f"))
            unit = "°C" if units != "imperial" else "°F"
            return tool_result(data, f"{data['city']}: {r['condition']}, {temp}{unit}")
        if name == "get_forecast":
            key = find_city(args)
            days = args.get("days", 3)
            if not isinstance(days, int) or not 1 <= days <= 7:
                raise ValueError("argument 'days' must be an integer from 1 to 7")
            fc = [reading(key, today + datetime.timedelta(days=i)) for i in range(days)]
            lines = [f"{d['date']}: {d['condition']}, {d['temperature_c']}°C" for d in fc]
            return tool_result({"city": CITIES[key]["name"], "forecast": fc}, "\n".join(lines))
    except ValueError as e:
        return tool_error(str(e))
    return None


def handle(msg):
    method = msg.get("method")
    params = msg.get("params") or {}
    if method == "initialize":
        requested = params.get("protocolVersion")
        version = requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
        return {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "weather-python", "version": "1.0.0"},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        result = call_tool(params.get("name"), params.get("arguments") or {})
        if result is None:
            raise LookupError(f"Unknown tool: {params.get('name')}")
        return result
    raise NotImplementedError(method)


def reply_to(msg):
    """The JSON-RPC answer to one message, or None (notifications, responses)."""
    if not isinstance(msg, dict) or "method" not in msg or "id" not in msg:
        return None
    try:
        return {"jsonrpc": "2.0", "id": msg["id"], "result": handle(msg)}
    except LookupError as e:
        return {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32602, "message": str(e)}}
    except NotImplementedError as e:
        return {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": f"Method not found: {e}"}}


PARSE_ERROR = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}


def serve_stdio():
    log("ready")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = reply_to(json.loads(line))
        except json.JSONDecodeError:
            reply = PARSE_ERROR
        if reply is not None:
            print(json.dumps(reply, ensure_ascii=False), flush=True)


class McpHandler(http.server.BaseHTTPRequestHandler):
    """Stateless Streamable HTTP: each POST carries one message."""

    def send(self, status, body=None):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path.split("?")[0] != "/mcp":
            return self.send(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > 4 * 1024 * 1024:
            return self.send(413, {"error": "message too large"})
        try:
            msg = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self.send(400, PARSE_ERROR)
        reply = reply_to(msg)
        self.send(202) if reply is None else self.send(200, reply)

    def do_GET(self):
        if self.path == "/healthz":
            return self.send(200, {"status": "ok"})
        self.send(405)  # no server-initiated stream

    def do_DELETE(self):
        self.send(405)  # stateless: no session to end

    def log_message(self, fmt, *args):
        log(fmt % args)


def serve_http(listen):
    host, _, port = listen.rpartition(":")
    server = http.server.ThreadingHTTPServer((host or "0.0.0.0", int(port)), McpHandler)
    log(f"serving MCP on http://{listen}/mcp")
    server.serve_forever()


def main():
    args = sys.argv[1:]
    if args[:1] == ["--http"] and len(args) == 2:
        serve_http(args[1])
    elif not args:
        serve_stdio()
    else:
        sys.exit("usage: weather_server.py [--http HOST:PORT]")


if __name__ == "__main__":
    main()
