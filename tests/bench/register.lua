-- wrk script: registerPerson of NISS numbers never registered before, so that every request
-- inserts a new line. Each wrk thread takes its own block of NISS indexes
-- [BENCH_NISS_BASE + thread·BENCH_NISS_BLOCK, … + BENCH_NISS_BLOCK), every one of them
-- included; the orchestrator gives every run fresh blocks above the seeded ones.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local envelope = require("envelope")
local niss = require("niss")
local stats = require("wrkstats")

stats.install("<common:value>OK</common:value>")
wrk.method = "POST"
wrk.headers = envelope.HEADERS

local client, dossier_type, next_index, last_index

function init(args)
  local base = tonumber(stats.env("BENCH_NISS_BASE"))
  local block = tonumber(stats.env("BENCH_NISS_BLOCK"))
  next_index = base + thread_index * block
  last_index = next_index + block - 1
  assert(last_index < niss.CAPACITY, "not enough NISS numbers left for this run")
  dossier_type = stats.env("BENCH_DOSSIER_TYPE", "EMPLOYEE")
  client = envelope.client(stats.env("BENCH_USERNAME"), stats.env("BENCH_PASSWORD"),
    stats.env("BENCH_CBE", "0202239951"))
end

function request()
  local ssin
  if next_index <= last_index then
    ssin = niss.of(next_index)
    next_index = next_index + 1
  else
    -- The block is used up: a repeat would be answered OK without inserting anything, so a
    -- number the service refuses is sent instead, and the answer counts as a failure.
    exhausted = exhausted + 1
    ssin = stats.EXHAUSTED_SSIN
  end
  local body = client.register("bench-r" .. thread_index, ssin, dossier_type, "2024-01-01")
  return wrk.format(nil, nil, nil, body)
end
