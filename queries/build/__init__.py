"""Building the query list (`python -m queries build`): one module per source.

- `dump` + `wikitext` + `tokens`: reading `pages-articles*.xml[.bz2]`, markup to text, words;
- `counting`: the Beam pipeline (unigram and bigram counts, pageview sums);
- `unigram`, `bigram`, `title`, `wordnet`, `embedded`: the sources and their thresholds;
- `assemble`: precedence, deterministic order, `--max-size`, parquet;
- `run`: the build itself (`build(BuildConfig) -> BuildResult`).
"""

from queries.build.errors import QueryBuildError

__all__ = ["QueryBuildError"]
