"""Wiki markup stripping and tokenisation (queries.build.wikitext, queries.build.tokens)."""

from queries.build.tokens import word_runs, words
from queries.build.wikitext import strip_markup


def test_templates_nested_and_parser_functions_go():
    text = "a {{Infobox x|name={{nowrap|zz}}|b={{#if:1|zz}}}} b"
    assert words(strip_markup(text)) == ["a", "b"]


def test_links_show_their_label_or_target():
    text = "[[Canis familiaris|dog]] and [[cat]]s and [[Paris]] and [[a|]] [[:Category:Cats]]"
    assert strip_markup(text) == "dog and cats and Paris and a Category:Cats"


def test_files_categories_and_interlanguage_links_disappear():
    text = (
        "x [[File:A.jpg|thumb|zz in [[zz]] caption]] [[Image:B.png]] [[Category:Zz]] [[de:Hund]] y"
    )
    assert words(strip_markup(text)) == ["x", "y"]


def test_refs_comments_math_and_tables_go():
    text = (
        'a<ref name="r">{{cite|zz}}</ref> b<ref name=x /> <!-- zz --> c <math>zz</math>\n'
        "{| class=wikitable\n|-\n| zz || zz\n{|\n| zz\n|}\n|}\nd"
    )
    assert words(strip_markup(text)) == ["a", "b", "c", "d"]


def test_headings_quotes_tags_entities_and_urls():
    text = (
        "== The '''Bold''' ==\n''it'' <small>tiny</small> &amp; &nbsp;x "
        "https://e.org/zz [https://e.org/zz label] [http://e.org]"
    )
    out = strip_markup(text)
    assert out.splitlines()[0] == "The Bold"
    assert words(out) == ["The", "Bold", "it", "tiny", "x", "label"]


def test_spaces_collapse_so_removed_markup_keeps_bigrams():
    assert list(word_runs(strip_markup("hot {{tmpl}}  dog"))) == [["hot", "dog"]]


def test_word_rules():
    text = "Don't stop O\u2019Brien's well-known 1990s mp3 U.S. 1990 3.14 café"
    assert words(text) == [
        "Don't",
        "stop",
        "O'Brien's",
        "well-known",
        "1990s",
        "mp3",
        "U",
        "S",
        "café",
    ]


def test_runs_break_at_punctuation_numbers_and_newlines():
    text = "New York, in 1990 New Jersey\nNew Haven  two spaces"
    assert list(word_runs(text)) == [
        ["New", "York"],
        ["in"],
        ["New", "Jersey"],
        ["New", "Haven"],
        ["two", "spaces"],
    ]
