-- wrk script for bench/http/run.sh's pipelined scenario: every write sends
-- 16 GET / requests on the connection at once (HTTP/1.1 pipelining), and
-- the next batch goes out when all 16 answers are in.
--
-- wrk counts the requests of a batch (it parses the string request()
-- returns) and then counts responses: its "requests" and "Requests/sec"
-- are responses, 16 per batch, not batches. Checked against nginx's
-- access log (one line per request): see bench/http/README.md.
-- Latency: wrk records one sample per batch (write to 16th answer), and
-- its coordinated-omission correction then uses the interval between
-- responses as if it were the interval between batches, so its latency
-- figures, percentiles included (which can come out as 0), are not used.
-- PIPELINE_DEPTH (default 16) sets the batch size.
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "16")
local batch

init = function(args)
   local one = wrk.format("GET", "/")
   batch = string.rep(one, depth)
end

request = function()
   return batch
end
