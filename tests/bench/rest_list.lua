-- wrk script (rest_load.sh): GET /api/v1/deliveries?page=N&pageSize=BENCH_PAGE_SIZE with the
-- bearer token BENCH_TOKEN, N drawn at random from 1 … BENCH_PAGES (every page of the
-- mailbox); a good answer is HTTP 200 with the page's "items". With BENCH_PATH set, that
-- path instead, without a token (the same page served as a static file by nginx: the same
-- client-side costs, the check included).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local stats = require("wrkstats")

stats.install('"items":[')

local pages, page_size, headers, static_path

function init(args)
  math.randomseed(os.time() * 1000 + thread_index * 7919)
  static_path = os.getenv("BENCH_PATH")
  if static_path == "" then static_path = nil end
  if not static_path then
    pages = tonumber(stats.env("BENCH_PAGES"))
    page_size = stats.env("BENCH_PAGE_SIZE", "50")
    headers = { ["Authorization"] = "Bearer " .. stats.env("BENCH_TOKEN") }
  end
end

function request()
  if static_path then return wrk.format("GET", static_path) end
  return wrk.format("GET", "/api/v1/deliveries?page=" .. math.random(pages) ..
    "&pageSize=" .. page_size, headers)
end
