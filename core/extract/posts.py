"""The latest posts of a blog or news section: listings parsed directly, articles via newspaper4k."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from core.extract.models import Fact, Post
from core.extract.page import Page, ld_types, squash

BLOG_PATH = re.compile(
    r"/(blog|news|neuigkeiten|aktuelles|actualites|actualités|noticias|journal|presse|press|magazin|articles?)(/|$)",
    re.I,
)
_DATE_IN_PATH = re.compile(r"/(20\d{2})/(\d{1,2})/")
_FULL_DATE_IN_PATH = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|$|[-_])")
ARTICLE_TYPES = {"Article", "NewsArticle", "BlogPosting", "ReportageNewsArticle", "TechArticle", "AnalysisNewsArticle"}
DATE_META = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
)
# newspaper4k costs ~100 ms on a long page: only for article pages whose metadata has no date, and fed
# only the page's <head> and its <article> (or <main>) element, cut at this many characters (a date it
# finds in an article is near the top; at 20,000 it finds the same 6 dates on the 22 such pages of the
# real-page corpus as at 60,000, at two thirds of the cost)
NEWSPAPER_MAX_CHARS = 20_000


def is_blog_page(page: Page) -> bool:
    """True for a blog or news index page, or an article page."""
    return bool(BLOG_PATH.search(urlsplit(page.url).path)) or page.meta("og:type") == "article"


def _is_article(page: Page) -> bool:
    return page.meta("og:type") == "article" or any(ld_types(obj) & ARTICLE_TYPES for obj in page.json_ld)


def _article_from_metadata(page: Page) -> Post | None:
    """Title and publication date as the page declares them (JSON-LD, meta, <time>), without newspaper4k."""
    title, published = "", None
    for obj in page.json_ld:
        if ld_types(obj) & ARTICLE_TYPES:
            headline = obj.get("headline") or obj.get("name")
            title = title or (squash(headline) if isinstance(headline, str) else "")
            if isinstance(obj.get("datePublished"), str):
                published = published or _iso_date(obj["datePublished"].strip())
    title = title or page.meta("og:title", "twitter:title") or page.title
    if published is None:
        raw = page.meta(*DATE_META)
        if not raw:
            node = page.tree.css_first('[itemprop="datePublished"]') or page.tree.css_first("time[datetime]")
            if node is not None:
                raw = node.attributes.get("content") or node.attributes.get("datetime") or ""
        published = _iso_date(raw.strip()) if raw else None
    if published is None and (match := _FULL_DATE_IN_PATH.search(urlsplit(page.url).path)):
        published = _iso_date(f"{match.group(1)}-{int(match.group(2)):02d}-{int(match.group(3)):02d}")
    if not title or published is None:
        return None
    return Post(title=title[:200], url=page.url, published=published)


def _article_with_newspaper(page: Page) -> Post | None:
    """newspaper4k's publication-date heuristics (URL, metadata, dates in the HTML) on the page's <head>
    and its <article> (or <main>) only; the title is the page's own. Its author and body extraction, which
    cost ~60 ms a page, are not run: a post needs a title and a date."""
    # imported here: newspaper4k takes about 0.6 s to load; only article pages need it
    from newspaper import parsers
    from newspaper.configuration import Configuration
    from newspaper.extractors.pubdate_extractor import PubdateExtractor

    title = page.meta("og:title", "twitter:title") or page.title
    if not title:
        return None
    head = page.tree.head
    body = page.tree.css_first("article") or page.tree.css_first("main") or page.tree.body
    reduced = (
        f"<html><head>{(head.html or '')[:NEWSPAPER_MAX_CHARS] if head else ''}</head>"
        f"<body>{(body.html or '')[:NEWSPAPER_MAX_CHARS] if body else ''}</body></html>"
    )
    try:
        published = PubdateExtractor(Configuration()).parse(page.url, parsers.fromstring(reduced))
    except Exception:  # noqa: BLE001 - newspaper raises its own types for odd markup; no post then
        return None
    if published is None:
        return None
    return Post(title=squash(title)[:200], url=page.url, published=published.date().isoformat())


def _listing(page: Page) -> list[Post]:
    posts: list[Post] = []
    seen: set[str] = set()
    by_text: dict[str, str] = {}
    for link in page.links:
        by_text.setdefault(link.text, link.href)  # the first link with that text, as before
    for block in page.nodes("article, .post, .blog-post, .news-item, li.post"):
        heading = block.css_first("h1 a, h2 a, h3 a, h4 a, a[rel=bookmark]") or block.css_first("a[href]")
        if heading is None:
            continue
        title = squash(heading.text(deep=True) or "")
        href = by_text.get(title, "")
        if not title or not href or href in seen or urlsplit(href).hostname != urlsplit(page.url).hostname:
            continue
        time_node = block.css_first("time")
        published = None
        if time_node is not None:
            raw = time_node.attributes.get("datetime") or squash(time_node.text() or "")
            published = _iso_date(raw)
        if published is None and (match := _DATE_IN_PATH.search(href)):
            published = f"{match.group(1)}-{int(match.group(2)):02d}-01"
        seen.add(href)
        posts.append(Post(title=title[:200], url=href, published=published))
    return posts


def _iso_date(raw: str) -> str | None:
    for candidate in (raw[:10], raw):
        try:
            return datetime.fromisoformat(candidate).date().isoformat()
        except ValueError:
            continue
    match = re.search(r"(\d{1,2})[./](\d{1,2})[./](20\d{2})", raw)
    if match:
        return f"{match.group(3)}-{int(match.group(2)):02d}-{int(match.group(1)):02d}"
    return None


def extract_posts(page: Page, *, limit: int = 3) -> tuple[list[Post], list[Fact]]:
    """Up to ``limit`` newest posts on a blog page (newest first), with a fact for each."""
    if not is_blog_page(page):
        return [], []
    posts = _listing(page)
    if not posts:
        single = _article_from_metadata(page)
        if single is None and _is_article(page):
            single = _article_with_newspaper(page)
        posts = [single] if single else []
    posts.sort(key=lambda p: p.published or "", reverse=True)
    posts = posts[:limit]
    facts = [
        Fact("post", f"{p.title} ({p.published or 'undated'})", page.url, page.snippet(p.title) or p.title)
        for p in posts
    ]
    return posts, facts
