"""`pipeline download`: manifest -> webdataset shards, fetched safely and politely.

Modules: `options` (flags, config), `manifest` (inputs, row order), `netpolicy`
(address policy, `--resolve`, DNS cache), `http` (one pinned GET), `robots`,
`fetch` (redirects, retries, opt-outs, per-host caps), `imaging` (decode, checks,
resize, encode, hashes), `worker` (one shard), `shardio` (files, atomic writes),
`dedup`, `stats`, `transforms` (Beam), `job` (the whole run), `cli`.
"""
