"""A synthetic web for tests, benchmarks and the demo: a crawl generator (`crawl`),
a local image host (`image_host`) and the concept vocabulary they share (`concepts`)."""
