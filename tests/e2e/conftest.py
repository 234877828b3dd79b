"""Browser tests: Playwright driving Debian's Chromium (it cannot download its own).

No English in front of a Chinese user (issue 14 item 4)
--------------------------------------------------------
Every page a browser test visits through the `page` fixture is checked for English words: the
browser context runs a script on each page load that collects the page's *visible* text (and the
labels of buttons and the placeholders of inputs) and reports the English words it finds; at
the end of the test the current page is checked once more and the test fails, naming each page
and its words. A page is checked as the browser shows it to a zh-hans user (the context's locale
is zh-CN and the site's default language is zh-hans).

What is not English text (not reported):
- words inside <code>, <kbd>, <samp>, <pre>, <textarea>, anything in a monospace font, and
  anything inside an element marked `data-allow-english` (e.g. the language switcher, which
  names "English" in English on purpose). Mark a *value* that is a code (a parameter key, a
  file's English column name) with <code> (medins.value_display.code_html); never a label or a
  message.
- a token with a digit in it (ID numbers, case numbers, institution codes like CC-L-101,
  amounts), a file name (x.csv, x.xlsx), a URL or an e-mail address;
- user names (the test database's users) and the words in ALLOWED_WORDS below: keep that list
  small and explicit (units and format names a Chinese clerk reads as they are).

Helpers adding pages: nothing to do, your pages are checked when a test visits them. To check a
page at a given moment (e.g. after a script changed it), call `assert_no_english(page)`
(`allowed=` adds words for that one call). A test
that must show English (the English UI chosen on purpose) opts out with
`@pytest.mark.english_allowed`.
"""

import os
import re
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures are
# still plain synchronous code, so Django's async-safety guard is relaxed for these tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder to keep screenshots in, when set


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


# Words a Chinese clerk reads as they are: units, file formats, "ID" and "IP" (IP 地址), the key
# printed on the keyboard (按住 Ctrl 键), and proper names that Chinese texts write in Latin letters
# (the Barthel index: 日常生活活动能力评定量表（Barthel指数）).
ALLOWED_WORDS = frozenset({"ID", "IP", "CSV", "XLSX", "csv", "xlsx", "MB", "KB", "PDF", "API", "OK", "Barthel", "Ctrl"})

# Runs in the page: the English-looking words of its visible text, as [word, context] pairs.
_COLLECT_JS = r"""() => {
  const skip = "code, kbd, samp, pre, textarea, script, style, noscript, template, [data-allow-english]";
  const out = [];
  const monospace = new Map();
  const isMono = (el) => {
    if (!monospace.has(el)) monospace.set(el, /mono|courier/i.test(getComputedStyle(el).fontFamily));
    return monospace.get(el);
  };
  const visible = (el) => el.checkVisibility ? el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
                                             : !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const take = (text, el) => {
    const kept = text.replace(/[^\s，,：:；;（）()“”"']+\.(csv|xlsx|xls|txt|json|jsonl|pdf|zip|png|jpg|jpeg)\b/gi, " ")  // file names
                     .replace(/(https?:\/\/|mailto:)\S+|[\w.+-]+@[\w.-]+/g, " ");            // URLs, e-mail addresses
    for (const token of kept.split(/[\s\u3000]+/)) {
      if (!/[A-Za-z]{2,}/.test(token)) continue;
      if (/[0-9]/.test(token)) continue;                                   // ID numbers, codes, amounts
      for (const word of token.match(/[A-Za-z][A-Za-z_'’.-]*[A-Za-z]|[A-Za-z]/g) || []) {
        if (word.length < 2) continue;
        out.push([word, text.trim().slice(0, 80)]);
      }
    }
  };
  if (!document.body) return out;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest(skip) || !visible(el) || isMono(el)) continue;
    take(node.textContent, el);
  }
  for (const el of document.querySelectorAll("input[type=submit], input[type=button], input[type=reset], input[placeholder], textarea[placeholder]")) {
    if (el.closest("[data-allow-english]") || !visible(el)) continue;
    if (el.matches("[type=submit], [type=button], [type=reset]")) take(el.value || "", el);
    if (el.placeholder) take(el.placeholder, el);
  }
  return out;
}"""

_INIT_JS = ("""
window.addEventListener("load", () => setTimeout(() => {
  try { window.__medinsReportEnglish(location.href, (""" + _COLLECT_JS + """)()); } catch (e) {}
}, 0));
""")


def _usernames() -> set[str]:
    from django.contrib.auth import get_user_model

    try:
        return {u for u in get_user_model().objects.values_list("username", flat=True)}
    except Exception:  # a test without database access
        return set()


def english_words(found, allowed=()) -> list[str]:
    """The reportable words of [(word, context), …]: minus ALLOWED_WORDS, user names and `allowed`."""
    allow = ALLOWED_WORDS | set(allowed) | _usernames()
    seen, out = set(), []
    for word, context in found:
        if word in allow or word.strip("._-'’") in allow:
            continue
        if word not in seen:
            seen.add(word)
            out.append(f"{word!r} in {context!r}")
    return out


def assert_no_english(page, allowed=()):
    """Fails when the page, as shown now, has English words a zh-hans user would read (issue 14 item 4)."""
    words = english_words(page.evaluate(_COLLECT_JS), allowed)
    assert not words, f"English on {page.url}: " + "; ".join(words)


# Issue #14 item 7: the pages must fit a 1366 px wide screen (assert_no_horizontal_scroll).
VIEWPORT = {"width": 1366, "height": 900}


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    reports: list[tuple[str, list]] = []
    context.expose_function("__medinsReportEnglish", lambda url, found: reports.append((url, found)))
    context.add_init_script(_INIT_JS)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    try:
        if not request.node.get_closest_marker("english_allowed") and not page.is_closed():
            reports.append((page.url, page.evaluate(_COLLECT_JS)))
    finally:
        context.close()
    if request.node.get_closest_marker("english_allowed"):
        return
    problems = {}
    for url, found in reports:
        words = english_words(found)
        if words:
            problems.setdefault(re.sub(r"^https?://[^/]+", "", url), set()).update(words)
    if problems:
        pytest.fail("English shown to a zh-hans user (issue 14 item 4):\n" + "\n".join(
            f"  {url}: {'; '.join(sorted(words))}" for url, words in problems.items()), pytrace=False)


def shot(page, name):
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


_OVERFLOW_JS = """() => {
  const root = document.documentElement, limit = root.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit + 1 && e.getClientRects().length)
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= limit + 1)
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} `
                           + `(${Math.round(e.getBoundingClientRect().right)}px)`);
  // a box that scrolls sideways inside the page (a list's results, an inline table) counts too
  const scrolled = [...document.querySelectorAll('body *')]
    .filter(e => !['SELECT', 'TEXTAREA'].includes(e.tagName))  // form controls scroll their own content
    .filter(e => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} `
                           + `(${e.scrollWidth}px in ${e.clientWidth}px)`);
  return {scroll: root.scrollWidth, client: limit, wide, scrolled};
}"""


def assert_no_horizontal_scroll(page):
    """Issue #14 item 7: no horizontal scroll at 1366 px: the page is no wider than the window
    (document.documentElement.scrollWidth <= clientWidth), and no part of it (the list's results,
    an inline table) scrolls sideways inside it. Names the elements that are too wide."""
    found = page.evaluate(_OVERFLOW_JS)
    assert found["scroll"] <= found["client"], (
        f"{page.url} scrolls sideways: {found['scroll']}px wide in a {found['client']}px window; too wide: {found['wide']}")
    assert not found["scrolled"], f"{page.url}: part of the page scrolls sideways: {found['scrolled']}"


def take_step(page, action, *, confirm=False):
    """Press a workflow step's button (medins.admin_workflow: input[data-action]); a step that
    cannot be undone shows the confirmation page first (Yes)."""
    with page.expect_navigation():
        page.click(f"input[data-action={action}]")
    if confirm:
        assert page.locator("#confirm-objects").count() == 1, f"{action}: no confirmation page"
        shot(page, f"confirm-{action}")
        assert_no_english(page)
        with page.expect_navigation():
            page.click("#confirm-yes")

