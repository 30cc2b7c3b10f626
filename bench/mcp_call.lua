-- wrk script: MCP tools/call on the testkit's `echo` tool over Streamable HTTP.
-- BASTION_SESSIONS is a comma-separated list of Mcp-Session-Id values; the
-- requests rotate through them (one session, or many sessions sharing the
-- connections: sessions are not tied to connections in Streamable HTTP).
local sessions = {}
for s in string.gmatch(os.getenv("BASTION_SESSIONS") or "", "[^,]+") do
  sessions[#sessions + 1] = s
end
-- BENCH_TOKEN, when set, is sent as a bearer token on every request.
local token = os.getenv("BENCH_TOKEN")
local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello from wrk"}}}'
local n = 0

function setup(thread)
  thread:set("offset", n)
  n = n + 7
end

function init(args)
  i = offset or 0
end

function request()
  i = i + 1
  local sid = sessions[(i % #sessions) + 1]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = "2025-11-25",
    ["Mcp-Session-Id"] = sid,
  }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/mcp", headers, body)
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "hello from wrk", 1, true) then
    bad = bad + 1
    if bad < 3 then io.stderr:write("unexpected response " .. status .. ": " .. body .. "\n") end
  end
end
