-- wrk scenario for bench/serving.py. Environment variables choose the request:
--   BENCH_METHOD  GET or POST
--   BENCH_BODY    "fixed": the same JSON body every time (BENCH_JSON)
--                 "distinct": {"text": <random letters>, "top_k": 5}, a new window each time
--                 "batch": {"texts": [BENCH_BATCH random texts], "top_k": 1}
-- done() prints one JSON line: requests, seconds, errors and latency percentiles in ms.

local method = os.getenv("BENCH_METHOD") or "GET"
local body_kind = os.getenv("BENCH_BODY") or "fixed"
local fixed_json = os.getenv("BENCH_JSON") or ""
local batch_size = tonumber(os.getenv("BENCH_BATCH") or "1000")
local letters = "abcdefghijklmnopqrstuvwxyz"

local function random_text(length)
  local chars = {}
  for i = 1, length do
    local k = math.random(1, 26)
    chars[i] = letters:sub(k, k)
  end
  return table.concat(chars)
end

local function batch_body()
  local texts = {}
  for i = 1, batch_size do
    texts[i] = '"' .. random_text(12) .. '"'
  end
  return '{"texts":[' .. table.concat(texts, ",") .. '],"top_k":1}'
end

local headers = {["Content-Type"] = "application/json"}
local batch_bodies = {}

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

function init(args)
  -- thread_id is set by setup(); each thread draws its own texts, so none repeats another's.
  math.randomseed(os.time() * 100 + (thread_id or 0))
  if body_kind == "batch" then
    for i = 1, 8 do
      batch_bodies[i] = batch_body()
    end
  end
end

function request()
  if method == "GET" then
    return wrk.format("GET", wrk.path)
  end
  local body = fixed_json
  if body_kind == "distinct" then
    body = '{"text":"' .. random_text(16) .. '","top_k":5}'
  elseif body_kind == "batch" then
    body = batch_bodies[math.random(1, #batch_bodies)]
  end
  return wrk.format("POST", wrk.path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.timeout + errors.status
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "errors": %d, "status_errors": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, failed, errors.status,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
