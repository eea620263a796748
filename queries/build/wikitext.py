"""Wiki markup to plain text: what a reader of the rendered article would see as prose.

`strip_markup(wikitext) -> str` removes, in this order:

1. comments `<!-- -->` and the content of non-prose tags (`<ref>`, `<math>`, `<gallery>`,
   `<timeline>`, `<syntaxhighlight>`, `<source>`, `<score>`, `<chem>`, ...), self-closing
   `<ref name=x />` included;
2. templates `{{...}}` and parser functions, nested, innermost first (infoboxes, citations,
   navboxes: their rendered text is not the article's prose);
3. tables `{| ... |}`, nested (mostly data, not sentences);
4. external links: `[http://x label]` becomes `label`, `[http://x]` nothing;
5. wiki links, innermost first: `[[a|b]]` becomes `b`, `[[a]]` becomes `a` (and `[[a]]s`
   `as`); `[[File:...]]`, `[[Image:...]]`, `[[Media:...]]` (with their captions),
   `[[Category:...]]` and interlanguage links `[[de:Hund]]` disappear; `[[:Category:X]]`
   shows `Category:X`;
6. headings `== Title ==` keep their text; bold/italic quotes `''`, `'''` go; HTML tags go
   (their content stays); magic words `__TOC__` go; entities `&nbsp;` `&amp;` are decoded;
   bare URLs go;
7. runs of spaces and tabs become one space (so two words that render one space apart are
   one space apart here; tokenisation relies on it). Line breaks stay.

The result is plain text; anything the rules miss stays as punctuation, which the
tokeniser (`queries.build.tokens`) ignores.
"""

from __future__ import annotations

import html
import re

_NON_PROSE_TAGS = (
    "ref|math|gallery|timeline|syntaxhighlight|source|score|chem|ce|hiero|imagemap|"
    "mapframe|maplink|templatedata|graph|references|categorytree|inputbox"
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_NON_PROSE = re.compile(rf"<({_NON_PROSE_TAGS})\b[^>]*?(?:/>|>.*?</\1\s*>)", re.S | re.I)
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TABLE = re.compile(r"\{\|(?:(?!\{\|).)*?\|\}", re.S)
_EXT_LINK = re.compile(r"(?<!\[)\[(?:https?:|ftp:|//)[^\s\]]*(?:[ \t]+([^\]\n]*))?\]")
_WIKI_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_HEADING = re.compile(r"^(={1,6})[ \t]*(.*?)[ \t]*\1[ \t]*$", re.M)
_QUOTES = re.compile(r"'{2,}")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*\b[^<>]*>")
_MAGIC = re.compile(r"__[A-Z]+__")
_BARE_URL = re.compile(r"(?:https?|ftp)://\S+")
_SPACES = re.compile(r"[ \t\u00a0]+")

# Link namespaces whose target is not shown as text in the article.
_HIDDEN_LINK_NS = frozenset({"file", "image", "media", "category"})
_LANGUAGE_PREFIX = re.compile(r"[a-z]{2,3}(?:-[a-z]+)*")
# Nesting deeper than this is malformed markup; stop rather than loop on it.
_MAX_DEPTH = 32


def strip_markup(wikitext: str) -> str:
    """The article's prose as plain text (rules in the module doc)."""
    text = _COMMENT.sub("", wikitext)
    text = _NON_PROSE.sub("", text)
    text = _innermost_first(_TEMPLATE, "", text)
    text = _innermost_first(_TABLE, "", text)
    text = _EXT_LINK.sub(lambda m: m.group(1) or "", text)
    text = _innermost_first(_WIKI_LINK, _link_text, text)
    text = _HEADING.sub(r"\2", text)
    text = _QUOTES.sub("", text)
    text = _TAG.sub("", text)
    text = _MAGIC.sub("", text)
    text = html.unescape(text)
    text = _BARE_URL.sub("", text)
    return _SPACES.sub(" ", text)


def _innermost_first(pattern: re.Pattern, repl, text: str) -> str:
    """Apply `pattern` until nothing changes: nested constructs go from the inside out."""
    for _ in range(_MAX_DEPTH):
        text, n = pattern.subn(repl, text)
        if n == 0:
            break
    return text


def _link_text(match: re.Match) -> str:
    """What a wiki link renders as (see rule 5 of the module doc)."""
    inner = match.group(1)
    target, pipe, label = inner.partition("|")
    shown_colon = target.startswith(":")
    target = target.lstrip(":").strip()
    prefix, colon, _ = target.partition(":")
    prefix = prefix.strip()
    if colon and not shown_colon:
        if prefix.lower() in _HIDDEN_LINK_NS:
            return ""
        if not pipe and _LANGUAGE_PREFIX.fullmatch(prefix):
            return ""  # interlanguage link: shown in the sidebar, not the text
    if pipe:
        # `[[a|b|c]]` shows the last part; the pipe trick `[[a|]]` shows the target.
        label = label.rpartition("|")[2].strip()
        return label or target
    return target
