-- wrk script for benches/http/run.sh: GET / with a different token on every request, cycling
-- through the first TOKENS_LIMIT lines of TOKENS_FILE (one minted token a line). The requests
-- are formatted once, in init (after wrk has set the Host header, which HTTP/1.1 servers such
-- as node:http and uvicorn require), so wrk spends its time sending, not building strings.
local path = os.getenv("TOKENS_FILE")
local limit = tonumber(os.getenv("TOKENS_LIMIT") or "0")
local requests = {}
local count = 0
local index = 0

init = function(args)
  for line in io.lines(path) do
    count = count + 1
    requests[count] = wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. line })
    if limit > 0 and count >= limit then
      break
    end
  end
end

request = function()
  index = index % count + 1
  return requests[index]
end
