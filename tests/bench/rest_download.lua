-- wrk script (rest_load.sh): the same large file fetched again and again by every connection,
-- GET BENCH_PATH, with the bearer token BENCH_TOKEN when it is set (raas), without (nginx).
-- No response() hook, on purpose: with one, wrk would keep every body in memory to hand it
-- to Lua. So the checks are wrk's own: a status ≥ 400 counts as a failure, socket errors
-- too, and the bytes received must cover the complete downloads (BENCH_SIZE bytes each; a
-- shorter answer with status 200 would leave the average below it).
-- At the end one line BENCH_RESULT {json}, as wrkstats.lua gives: rps = complete downloads
-- a second, bytes and mib_s = everything received (complete and partial downloads, headers
-- included: a few hundred bytes a file), latency = the time of one whole download.
local token = os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_PATH")
local size = tonumber(os.getenv("BENCH_SIZE"))
assert(path and path ~= "" and size, "BENCH_PATH and BENCH_SIZE are required")
wrk.method = "GET"
wrk.path = path
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local good = summary.requests - e.status
  local failures = e.status + e.connect + e.read + e.write + e.timeout
  local first = ""
  if e.status > 0 then first = e.status .. " answers with a status >= 400" end
  if good > 0 and summary.bytes < good * size then
    failures = failures + 1
    first = string.format("%d bytes received for %d complete downloads of %d bytes: short answers",
      summary.bytes, good, size)
  end
  io.write("BENCH_RESULT {" .. table.concat({
    string.format('"requests":%d', summary.requests),
    string.format('"seconds":%.3f', seconds),
    string.format('"rps":%.3f', good / seconds),
    string.format('"good":%d', good),
    string.format('"failures":%d', failures),
    string.format('"bytes":%d', summary.bytes),
    string.format('"mib_s":%.1f', summary.bytes / 1048576 / seconds),
    string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
      e.connect, e.read, e.write, e.timeout),
    string.format('"latency_ms":{"mean":%.1f,"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f}',
      latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
      latency:percentile(99) / 1e3, latency.max / 1e3),
    '"first_failure":"' .. first .. '"',
  }, ",") .. "}\n")
end
