-- wrk script: MCP tools/call on the testkit's `echo` tool over Streamable HTTP.
-- BASTION_SESSIONS is a comma-separated list of Mcp-Session-Id values; the
-- requests rotate through them (one session, or many sessions sharing the
-- connections: sessions are not tied to connections in Streamable HTTP).
-- BENCH_ERA=modern sends stateless MCP 2026-07-28 requests instead: no
-- session, the version, client info and capabilities in each request's
-- _meta, and the Mcp-Method / Mcp-Name headers the spec requires.
local sessions = {}
for s in string.gmatch(os.getenv("BASTION_SESSIONS") or "", "[^,]+") do
  sessions[#sessions + 1] = s
end
-- BENCH_TOKEN, when set, is sent as a bearer token on every request.
local token = os.getenv("BENCH_TOKEN")
local modern = os.getenv("BENCH_ERA") == "modern"
-- BENCH_PAD=N adds N bytes of prose to the echoed text, so the result is
-- about N bytes larger (4096: the issue's 4 KB result).
local pad = tonumber(os.getenv("BENCH_PAD") or "0")
local text = "hello from wrk" .. string.rep(" The quick brown fox pays 1.50.", math.ceil(pad / 31)):sub(1, pad)
-- BENCH_PII=N puts N PII values (an email and a Korean mobile number in
-- turn) into the text, spread over it: the PII filter finds and, under a
-- mask policy, rewrites them in the request and again in the echoed result.
local pii = tonumber(os.getenv("BENCH_PII") or "0")
if pii > 0 then
  local values = { " Mail jane.doe@example.com today.", " Call 010-2345-6789 today." }
  local parts, step = {}, math.floor(#text / pii)
  for k = 1, pii do
    parts[#parts + 1] = text:sub((k - 1) * step + 1, k * step)
    parts[#parts + 1] = values[(k - 1) % 2 + 1]
  end
  parts[#parts + 1] = text:sub(pii * step + 1)
  text = table.concat(parts)
end
local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"' .. text .. '"}}}'
if modern then
  body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"' .. text .. '"},' ..
    '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
    '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"},' ..
    '"io.modelcontextprotocol/clientCapabilities":{}}}}'
end
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
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
  }
  if modern then
    headers["MCP-Protocol-Version"] = "2026-07-28"
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = "echo"
  else
    headers["MCP-Protocol-Version"] = "2025-11-25"
    headers["Mcp-Session-Id"] = sessions[(i % #sessions) + 1]
  end
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
