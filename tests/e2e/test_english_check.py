"""The browser tests' English check itself (issue 14 item 4: a test fails on any English word shown
to a zh-hans user): it reports visible English words and button labels, and leaves alone codes in
monospace, ID numbers and codes with digits, file names, hidden text and the allowed words."""

import pytest

from tests.e2e.conftest import assert_no_english

pytestmark = [pytest.mark.e2e, pytest.mark.english_allowed]  # these pages are English on purpose


def test_visible_english_words_and_button_labels_are_reported(page):
    page.set_content('<p>参保人 <span>pending → running</span></p><input type="submit" value="Save">')
    with pytest.raises(AssertionError) as caught:
        assert_no_english(page)
    assert "'pending'" in str(caught.value) and "'running'" in str(caught.value) and "'Save'" in str(caught.value)


def test_codes_numbers_file_names_hidden_text_and_allowed_words_are_not_reported(page):
    page.set_content(
        "<p>步骤 <code>class_c_excluded</code>；身份证号 22010219380112621X；机构 CC-L-101；文件 体检认定结果.pdf；"
        "ID、CSV、XLSX；<span style='font-family: monospace'>inpatient.bands</span></p>"
        "<p style='display:none'>Hidden English</p><div data-allow-english>English</div>")
    assert_no_english(page)
    page.set_content("<p>Barthel指数 and more</p>")
    with pytest.raises(AssertionError):
        assert_no_english(page)
    assert_no_english(page, allowed={"and", "more"})
