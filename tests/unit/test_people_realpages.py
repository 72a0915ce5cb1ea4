"""People on real saved pages (issue 14 section 5): the corpus bench/realpages/build.py rebuilds.

The pages are the sites' own and are never committed; these tests read the rebuilt corpus and are
skipped, with the command that rebuilds it, where it is absent. Each case is a page from the
hand-labelled sample (bench/realpages/people_labels.jsonl) and the trap it holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.crawl.decode import decode_html
from core.extract.models import PageInput
from core.extract.profile import extract_page

CORPUS = Path("/work/shared/data/realpages")
pytestmark = pytest.mark.skipif(
    not (CORPUS / "manifest.tsv").exists(),
    reason="real-page corpus not built: PYTHONPATH=. .venv/bin/python bench/realpages/build.py",
)


def people_of(url: str) -> dict[str, tuple[str, str]]:
    for line in (CORPUS / "manifest.tsv").read_text(encoding="utf-8").splitlines():
        path, _, page_url = line.partition("\t")
        if page_url == url:
            markup, _ = decode_html(Path(path).read_bytes(), "text/html")
            profile = extract_page(PageInput(url=url, html=markup))
            for person in profile.people:
                assert person["evidence"]["url"] == url and person["evidence"]["snippet"]
                assert not person["email"] or person["email"] in profile.emails  # shown on the page, never made up
            return {p["name"]: (p["role"], p["email"]) for p in profile.people}
    pytest.skip(f"{url} is not in this build of the corpus")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # JSON-LD founder of the publisher and the "By …" byline; the JSON-LD author "kevin-r" is a login, not a name
        (
            "https://therealdeal.com/2019/11/18/thousands-of-wework-employees-to-be-laid-off-this-week/",
            {"Amir Korangy": ("founder", ""), "David Jeans": ("author", "")},
        ),
        # the author's own address is on the page (mailto), so it is kept
        (
            "https://www.spokesman.com/stories/2019/nov/19/meth-were-on-it-spokane-ad-agencies-divided-on-sou/",
            {"Megan Rowe": ("author", "meganr@spokesman.com")},
        ),
        # "by Jeff FoustMonday, November 18, 2019": the name without the date glued to it
        ("https://www.thespacereview.com/article/3834/1", {"Jeff Foust": ("author", "jeff@thespacereview.com")}),
        # the meta author is the publisher (Condé Nast), the byline the person
        (
            "https://www.wired.com/story/instagram-business-accounts-analytics/",
            {"Louise Matsakis": ("author", "louise_matsakis@wired.com")},
        ),
        # five commenters are not the site's people
        ("https://www.bigbrandsystem.com/business-focus/", {"Pamela Wilson": ("author", "")}),
        # bylines of related articles further down the page are not this page's authors
        (
            "http://www.recode.net/2016/12/15/13971502/fcc-tom-wheeler-departure-net-neutrality-death-trump-layton",
            {"April Glaser": ("author", "")},
        ),
        (
            "http://fandom.wikia.com/articles/star-wars-original-cuts-might-get-released-40th-anniversary",
            {"James Akinaka": ("author", "")},
        ),
        # an agency or a bureau is not a person
        (
            "https://www.deccanherald.com/business/economy-business/beijing-tariff-demands-may-expand-us-china-trade-deal-777916.html",
            {},
        ),
        (
            "https://www.newsnation.in/fact-check/news/fact-check-is-an-oxygen-bar-in-delhi-offering-fresh-air-for-rs-300-244592.html",
            {},
        ),
    ],
)
def test_people_on_real_pages(url, expected):
    assert people_of(url) == expected
