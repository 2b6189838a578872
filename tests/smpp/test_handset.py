"""The handset preview: the parts read back as the text, each within its size."""

from hypothesis import given
from hypothesis import strategies as st

from smpp import gsm
from smpp.handset import handset_view
from smpp.split import cheapest_coding, count_parts
from smpp.text import DataCoding


@given(st.text(max_size=700))
def test_the_parts_join_into_the_text_and_count_as_billed(text: str) -> None:
    coding = cheapest_coding(text)
    view = handset_view(text, coding)
    assert "".join(view.parts) == text
    assert len(view.parts) == count_parts(text, coding)


@given(st.text(alphabet=st.sampled_from("abc €[]{}"), min_size=161, max_size=600))
def test_gsm_parts_hold_at_most_153_septets(text: str) -> None:
    view = handset_view(text, DataCoding.SMSC_DEFAULT)
    assert view.coding == "GSM 7-bit" and view.units_per_part == 153
    assert all(gsm.septet_count(part) <= 153 for part in view.parts)


def test_a_persian_text_is_ucs2_with_70_characters_a_part() -> None:
    text = "کد ورود شما ۴۸۲۹۱ است"
    view = handset_view(text, cheapest_coding(text))
    assert (view.coding, view.units_per_part, view.parts) == ("UCS-2", 70, (text,))
    long = handset_view(text * 4, DataCoding.UCS2)
    assert long.units_per_part == 67 and [len(p) for p in long.parts] == [67, 17]
