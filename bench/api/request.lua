-- wrk script for one FlowViz endpoint, configured from the environment by bench/api/run.py:
--   WRK_METHOD, WRK_BODY (a fixed body), WRK_TOKEN (Bearer), WRK_ACCEPT_GZIP=1 (send
--   Accept-Encoding as browsers do), WRK_RUN_ID (makes lot codes unique across runs) and
--   WRK_MODE, for bodies built per request:
--     lot     POST /api/lots, a new lot_code each time (a duplicate would be a 409)
--     lot_2p  the same with two parents, 0.01 kg from each: WRK_IDS holds "parent:parent"
--             pairs, gone round so that no parent's row lock is a queue and no parent runs
--             out of weight (mass balance; run.py gives each parent 10000 kg)
--     qc      POST /api/qc-decisions PASS, over the lot ids in WRK_IDS (a QC station decides
--             about many lots; all on one lot would queue on its row lock)
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local token = os.getenv("WRK_TOKEN")
local mode = os.getenv("WRK_MODE") or ""
local accept_gzip = os.getenv("WRK_ACCEPT_GZIP") == "1"
local run_id = os.getenv("WRK_RUN_ID")

local ids = {}
for id in string.gmatch(os.getenv("WRK_IDS") or "", "[^,]+") do
  table.insert(ids, id)
end

local next_thread_id = 0

function setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("thread_id", next_thread_id)
end

local counter = 0

function init(args)
  wrk.method = method
  wrk.headers["Content-Type"] = "application/json"
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if accept_gzip then
    wrk.headers["Accept-Encoding"] = "gzip, deflate, br, zstd"
  end
  if body and body ~= "" then
    wrk.body = body
  end
end

-- Goes round the ids; threads start at different places.
local function next_id()
  counter = counter + 1
  return ids[(counter * 7 + thread_id * 101) % #ids + 1]
end

function request()
  if mode == "lot" or mode == "lot_2p" then
    counter = counter + 1
    local code = string.format("BENCH-%s-%d-%d", run_id, thread_id, counter)
    local parents = ""
    if mode == "lot_2p" then
      local first, second = string.match(next_id(), "([^:]+):([^:]+)")
      parents = string.format(
        ',"parents":[{"lot_id":"%s","quantity_used_kg":"0.01"},{"lot_id":"%s","quantity_used_kg":"0.01"}]',
        first, second)
    end
    local lot = string.format(
      '{"lot_code":"%s","lot_type":"SKW","weight_kg":"12.50","temperature_c":"-18.0"%s}', code, parents)
    return wrk.format(nil, nil, nil, lot)
  end
  if mode == "qc" then
    return wrk.format(nil, nil, nil, string.format('{"lot_id":"%s","decision":"PASS"}', next_id()))
  end
  return wrk.format()
end
