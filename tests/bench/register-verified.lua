-- wrk script: registerPerson with personData, verified against the source, so that every
-- request inserts a new line. The persons come from the sample (BENCH_SAMPLE, see
-- sample.lua): thread t of BENCH_THREADS takes the persons t, t + BENCH_THREADS, … in turn,
-- from a random one on, and registers each for one day: on its first pass through them day
-- 2·BENCH_RUN·BENCH_PASSES after 2000-01-01, on its next pass two days later, and so on for
-- at most BENCH_PASSES passes (then requests carry a refused number and count as failed,
-- niss_exhausted). Two lines of a person are thus never contiguous and never merge, and runs
-- with distinct BENCH_RUN never share a day. Every other request sends the last name in upper
-- case, a difference the verification tolerates.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local envelope = require("envelope")
local sample = require("sample")
local stats = require("wrkstats")

stats.install("<common:value>OK</common:value>")
wrk.method = "POST"
wrk.headers = envelope.HEADERS

local DAY_ZERO = 946684800 -- 2000-01-01T00:00:00Z
local client, dossier_type, persons, own, passes, first_day, start
local sent = 0

function init(args)
  persons = sample.load(stats.env("BENCH_SAMPLE"))
  local threads = tonumber(stats.env("BENCH_THREADS"))
  passes = tonumber(stats.env("BENCH_PASSES"))
  first_day = 2 * tonumber(stats.env("BENCH_RUN")) * passes
  own = {}
  for i = thread_index + 1, #persons, threads do own[#own + 1] = persons[i] end
  assert(#own > 0, "fewer sampled persons than threads")
  math.randomseed(os.time() * 1000 + thread_index * 7919)
  start = math.random(#own) - 1
  dossier_type = stats.env("BENCH_DOSSIER_TYPE", "EMPLOYEE")
  client = envelope.client(stats.env("BENCH_USERNAME"), stats.env("BENCH_PASSWORD"),
    stats.env("BENCH_CBE", "0202239951"))
end

function request()
  local pass = math.floor(sent / #own)
  local person = own[(start + sent) % #own + 1]
  if pass >= passes then
    -- Every pass is used up: a repeat would be answered OK without inserting anything, so a
    -- number the service refuses is sent instead, and the answer counts as a failure.
    exhausted = exhausted + 1
    pass = passes - 1
    person = { ssin = stats.EXHAUSTED_SSIN, last_name = person.last_name,
      first_name = person.first_name, birth_date = person.birth_date, gender = person.gender }
  end
  local day = os.date("!%Y-%m-%d", DAY_ZERO + (first_day + 2 * pass) * 86400)
  local claimed = person
  if sent % 2 == 1 then
    claimed = {
      last_name = person.last_name:upper(), first_name = person.first_name,
      birth_date = person.birth_date, gender = person.gender,
    }
  end
  sent = sent + 1
  local body = client.register("bench-v" .. thread_index, person.ssin, dossier_type, day, day, claimed)
  return wrk.format(nil, nil, nil, body)
end
