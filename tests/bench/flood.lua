-- wrk script: a wrong-password flood. consultRegister as BENCH_USERNAME with a new wrong
-- secret on every request (so no two attempts are the same), and a count of the answers by
-- reason code. At the end one line:
--   FLOOD_RESULT {"requests":…,"seconds":…,"rps":…,"reasons":{"AUTHENTICATION_THROTTLED":…,…}}
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local envelope = require("envelope")

wrk.method = "POST"
wrk.headers = envelope.HEADERS

local threads = {}
local username, cbe
local sent = 0

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  username = os.getenv("BENCH_USERNAME") or "flooded"
  cbe = os.getenv("BENCH_CBE") or "0202239951"
  counts = {}
end

function request()
  sent = sent + 1
  local wrong = string.format("wrong-%d-%d-%d", thread_index, sent, math.random(1, 1e9))
  local body = envelope.client(username, wrong, cbe).consult("flood" .. thread_index, "85073003328")
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local reason = body and body:match("<common:reasonCode>(.-)</common:reasonCode>")
  reason = reason or ("HTTP " .. status)
  counts[reason] = (counts[reason] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for reason, n in pairs(c) do totals[reason] = (totals[reason] or 0) + n end
  end
  local parts = {}
  for reason, n in pairs(totals) do table.insert(parts, string.format('"%s":%d', reason, n)) end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'FLOOD_RESULT {"requests":%d,"seconds":%.2f,"rps":%.1f,"latency_ms":{"p50":%.1f,"p99":%.1f,"max":%.1f},' ..
    '"socket_errors":%d,"reasons":{%s}}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ",")))
end
