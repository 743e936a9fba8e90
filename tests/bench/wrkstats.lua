-- wrk hooks shared by the benchmark scripts: every answer is checked (HTTP 200 and an
-- expected marker in the body) and counted per thread; at the end one line
--   BENCH_RESULT {json}
-- sums up throughput, latency percentiles and every kind of failure. `rps` counts good
-- answers only (wrk's own figure, every answer whatever it said, is `answers_rps`); a
-- request a script could not make as asked (niss_exhausted) is sent so that it fails, and
-- counts among the failures, never as good.
local M = {}

-- A number every register operation refuses (wrong check digits): what a script sends when it
-- has run out of numbers, so that the answer counts as a failure.
M.EXHAUSTED_SSIN = "00000000000"

local function json_string(s)
  s = tostring(s or "")
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return " "
  end)
  return '"' .. s .. '"'
end

-- Parameters the orchestrator passes through the environment.
function M.env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    assert(default ~= nil, "environment variable " .. name .. " is required")
    return default
  end
  return value
end

-- Whether a body holds the expected marker (a plain string), or one of them (a list).
local function holds(body, expected)
  if type(expected) == "string" then return body:find(expected, 1, true) ~= nil end
  for _, marker in ipairs(expected) do
    if body:find(marker, 1, true) then return true end
  end
  return false
end

-- Installs setup/response/done. `expected`: a plain string every good body contains, or a
-- list of them (a good body contains one). `tally` (optional): a function called with every
-- good body, returning nil or a list of counter names to add one to; the counters, summed
-- over the threads, come out as `"tallies":{name: count}` (e.g. a sanity check of what the
-- answers say, which is no failure).
function M.install(expected, tally)
  local threads = {}

  -- These globals live in each thread's own Lua state.
  good, bad_status, bad_body, exhausted, first_failure = 0, 0, 0, 0, ""
  tallies = {}

  function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
  end

  function response(status, headers, body)
    if status ~= 200 then
      bad_status = bad_status + 1
    elseif not (body and holds(body, expected)) then
      bad_body = bad_body + 1
    else
      good = good + 1
      for _, name in ipairs(tally and tally(body) or {}) do
        tallies[name] = (tallies[name] or 0) + 1
      end
      return
    end
    if first_failure == "" then
      body = tostring(body)
      local why = body:match("<faultstring>(.-)</faultstring>") or
        body:match("<common:value>(.-)</common:value>") or body:sub(1, 300)
      first_failure = "HTTP " .. status .. ": " .. why
    end
  end

  function done(summary, latency, requests)
    local totals = { good = 0, bad_status = 0, bad_body = 0, exhausted = 0 }
    local failure, counted = "", {}
    for _, thread in ipairs(threads) do
      for key in pairs(totals) do
        totals[key] = totals[key] + (tonumber(thread:get(key)) or 0)
      end
      if failure == "" then failure = thread:get("first_failure") or "" end
      for name, n in pairs(thread:get("tallies") or {}) do
        counted[name] = (counted[name] or 0) + n
      end
    end
    local names = {}
    for name in pairs(counted) do names[#names + 1] = name end
    table.sort(names)
    for i, name in ipairs(names) do
      names[i] = json_string(name) .. ":" .. string.format("%d", counted[name])
    end
    local seconds = summary.duration / 1e6
    local e = summary.errors
    -- Exhausted requests are sent with a refused number: they are among bad_status/bad_body.
    local failures = totals.bad_status + totals.bad_body +
      e.connect + e.read + e.write + e.timeout
    local fields = {
      string.format('"requests":%d', summary.requests),
      string.format('"seconds":%.3f', seconds),
      string.format('"rps":%.1f', totals.good / seconds),
      string.format('"answers_rps":%.1f', summary.requests / seconds),
      string.format('"good":%d', totals.good),
      string.format('"failures":%d', failures),
      string.format('"bad_status":%d', totals.bad_status),
      string.format('"bad_body":%d', totals.bad_body),
      string.format('"niss_exhausted":%d', totals.exhausted),
      string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
        e.connect, e.read, e.write, e.timeout),
      string.format('"latency_ms":{"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f}',
        latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
        latency:percentile(99) / 1e3, latency.max / 1e3),
      '"first_failure":' .. json_string(failure),
      '"tallies":{' .. table.concat(names, ",") .. "}",
    }
    io.write("BENCH_RESULT {" .. table.concat(fields, ",") .. "}\n")
  end
end

return M
