-- wrk script: POST /api/core/messages/send with a unique Idempotency-Key per request.
-- Environment: BENCH_TOKEN (bearer), BENCH_PREFIX (unique per run), BENCH_NUMBER,
-- BENCH_TO, BENCH_DELAY_MS (per-connection pause between requests: an open rate).
-- done() prints one JSON line that bench/harness.py reads.

local token = os.getenv("BENCH_TOKEN") or "rc_token_example"
local prefix = os.getenv("BENCH_PREFIX") or tostring(os.time())
local number = os.getenv("BENCH_NUMBER") or "num_abc123"
local to = os.getenv("BENCH_TO") or "+15005550006"
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local counter = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local key = prefix .. "-" .. tostring(tid) .. "-" .. tostring(counter)
  wrk.headers["Idempotency-Key"] = key
  local body = '{"sendFrom":"' .. number .. '","to":["' .. to .. '"],"messageType":"SMS",'
    .. '"text":"bench message ' .. counter .. '","externalReference":"' .. key .. '"}'
  return wrk.format(nil, nil, nil, body)
end

if pause > 0 then
  function delay()
    return pause
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
