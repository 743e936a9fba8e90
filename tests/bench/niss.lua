-- Valid NISS numbers (national register, born 19xx) numbered by an index.
--
-- Index i walks serial 001–997, then day 01–28, month 01–12, year 1900–1999, so every index
-- below CAPACITY gives a distinct valid number, in ascending order of i. The check digits
-- are 97 − (YYMMDDSSS mod 97). seed-postgres.sql and seed-sqlite.sql compute the same
-- mapping in SQL: keep the three in step.
local M = {}

M.CAPACITY = 997 * 28 * 12 * 100 -- 33 499 200

function M.of(i)
  assert(i >= 0 and i < M.CAPACITY, "NISS index out of range")
  local serial = i % 997 + 1
  local rest = math.floor(i / 997)
  local day = rest % 28 + 1
  rest = math.floor(rest / 28)
  local month = rest % 12 + 1
  local year = math.floor(rest / 12)
  local base = ((year * 100 + month) * 100 + day) * 1000 + serial
  return string.format("%09d%02d", base, 97 - base % 97)
end

return M
