-- wrk script: GET /livez, the server's constant answer ("ok"), checked like the SOAP calls
-- so that the three measurements pay the same client-side costs.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local stats = require("wrkstats")

stats.install("ok")
