"""`python -m pipeline curate`: crawl files or URL+caption tables -> balanced, deduplicated
manifest.

One module and one PTransform per stage: `read` (WARC, WAT, tables), `filters`, `language`,
`dedup`, `match`, `balance`, `write`; `cli` composes them.
"""
