-- wrk script: consultRegister of a random person among the BENCH_NISS_COUNT seeded ones
-- (NISS indexes 0 … BENCH_NISS_COUNT − 1, see niss.lua), each holding one line.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local envelope = require("envelope")
local niss = require("niss")
local stats = require("wrkstats")

stats.install("<common:value>DATA_FOUND</common:value>")
wrk.method = "POST"
wrk.headers = envelope.HEADERS

local client, count

function init(args)
  count = tonumber(stats.env("BENCH_NISS_COUNT"))
  math.randomseed(os.time() * 1000 + thread_index * 7919)
  client = envelope.client(stats.env("BENCH_USERNAME"), stats.env("BENCH_PASSWORD"),
    stats.env("BENCH_CBE", "0202239951"))
end

function request()
  local body = client.consult("bench-c" .. thread_index, niss.of(math.random(0, count - 1)))
  return wrk.format(nil, nil, nil, body)
end
