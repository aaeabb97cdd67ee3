-- wrk script of bench/api/floor.py: POST /api/insert gets a unique code per request
-- (WRK_RUN_ID, set per wrk run, keeps codes unique across runs).
local method = os.getenv("WRK_METHOD") or "GET"
local counter = 0
local next_thread_id = 0

function setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("thread_id", next_thread_id)
end

local run_id = os.getenv("WRK_RUN_ID")

function request()
  if method == "POST" then
    counter = counter + 1
    local body = string.format('{"code":"%s-%d-%d"}', run_id, thread_id, counter)
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET")
end
