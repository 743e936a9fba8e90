-- wrk script: identifyPerson (PersonIdentificationService) of a random person of the sample
-- (BENCH_SAMPLE, see sample.lua); every answer must be DATA_FOUND.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local envelope = require("envelope")
local sample = require("sample")
local stats = require("wrkstats")

stats.install("<common:value>DATA_FOUND</common:value>")
wrk.method = "POST"
wrk.headers = envelope.HEADERS

local client, persons, legal_context

function init(args)
  persons = sample.load(stats.env("BENCH_SAMPLE"))
  legal_context = stats.env("BENCH_LEGAL_CONTEXT", "PCSA:SOCIAL_INQUIRY")
  math.randomseed(os.time() * 1000 + thread_index * 7919)
  client = envelope.client(stats.env("BENCH_USERNAME"), stats.env("BENCH_PASSWORD"),
    stats.env("BENCH_CBE", "0202239951"))
end

function request()
  local person = persons[math.random(#persons)]
  return wrk.format(nil, nil, nil, client.identify("bench-i" .. thread_index, person.ssin, legal_context))
end
