-- wrk script for one FlowViz endpoint, configured from the environment by bench/api/run.py:
--   WRK_METHOD, WRK_BODY, WRK_TOKEN, and WRK_UNIQUE_LOT=1 to give every POST /api/lots
--   request its own lot_code (a duplicate would be a 409, not a registration).
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local token = os.getenv("WRK_TOKEN")
local unique_lot = os.getenv("WRK_UNIQUE_LOT") == "1"
local run_id = os.getenv("WRK_RUN_ID") or tostring(os.time())

local threads = {}
local next_thread_id = 0

function setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("thread_id", next_thread_id)
  table.insert(threads, thread)
end

local counter = 0

function init(args)
  wrk.method = method
  wrk.headers["Content-Type"] = "application/json"
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if body and body ~= "" then
    wrk.body = body
  end
end

function request()
  if unique_lot then
    counter = counter + 1
    local code = string.format("BENCH-%s-%d-%d", run_id, thread_id, counter)
    local lot = string.format('{"lot_code":"%s","lot_type":"SKW","weight_kg":"12.50","temperature_c":"-18.0"}', code)
    return wrk.format(nil, nil, nil, lot)
  end
  return wrk.format()
end
