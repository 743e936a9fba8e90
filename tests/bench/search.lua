-- wrk script: searchPersonByPhoneticCriteria (PersonIdentificationService) with criteria drawn
-- at random from the queries search_queries.py made (BENCH_QUERIES, a tab-separated file: kind,
-- the number of the person the query was made from, lastName, firstName, middleName,
-- birthDate, tolerance, gender; empty fields are left out of the request).
--
-- A good answer is HTTP 200 with DATA_FOUND or NO_RESULT (a query corrupted too far may find
-- nobody: that is the search's quality, not a failure); a fault or any other status fails.
-- Each request's ticket names its query (`q<index>-<call>`, echoed in informationCustomer), so
-- every good answer is also tallied by kind: `<kind>` (answered) and `<kind>:found` (the
-- person the query was made from is among the candidates) — the sanity check in the report.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local envelope = require("envelope")
local stats = require("wrkstats")

local queries

local function tally(body)
  local index = tonumber(body:match("<common:ticket>q(%d+)%-"))
  local query = index and queries[index]
  if not query then return { "unknown_ticket" } end
  local found = body:find(">" .. query.ssin .. "</person:ssin>", 1, true)
  return found and { query.kind, query.kind .. ":found" } or { query.kind }
end

stats.install({ "<common:value>DATA_FOUND</common:value>", "<common:value>NO_RESULT</common:value>" }, tally)
wrk.method = "POST"
wrk.headers = envelope.HEADERS

local client, legal_context

local function load(path)
  local list = {}
  for line in io.lines(path) do
    local f = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
    assert(#f == 8, "not a query line: " .. line)
    list[#list + 1] = {
      kind = f[1], ssin = f[2], last_name = f[3], first_name = f[4], middle_name = f[5],
      birth_date = f[6], tolerance = f[7], gender = f[8],
    }
  end
  assert(#list > 0, "no queries in " .. path)
  return list
end

function init(args)
  queries = load(stats.env("BENCH_QUERIES"))
  legal_context = stats.env("BENCH_LEGAL_CONTEXT", "PCSA:SOCIAL_INQUIRY")
  math.randomseed(os.time() * 1000 + thread_index * 7919)
  client = envelope.client(stats.env("BENCH_USERNAME"), stats.env("BENCH_PASSWORD"),
    stats.env("BENCH_CBE", "0202239951"))
end

function request()
  local index = math.random(#queries)
  return wrk.format(nil, nil, nil, client.search("q" .. index, legal_context, queries[index]))
end
