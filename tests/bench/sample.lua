-- The sample of persons identity.sh extracts from the source: a tab-separated file (path in
-- BENCH_SAMPLE), one person a line: ssin, last name, first first name, birth date, gender
-- (the last two fields may be empty). Read by each wrk thread in init().
local M = {}

function M.load(path)
  local persons = {}
  for line in io.lines(path) do
    local ssin, last_name, first_name, birth_date, gender =
      line:match("^(%d+)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    assert(ssin, "not a sample line: " .. line)
    persons[#persons + 1] = {
      ssin = ssin, last_name = last_name, first_name = first_name,
      birth_date = birth_date, gender = gender,
    }
  end
  assert(#persons > 0, "empty sample " .. path)
  return persons
end

return M
