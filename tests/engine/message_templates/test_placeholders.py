"""The body's parser and the renderer: text is never evaluated, bodies round
trip, and every placeholder must be given (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.message_templates import (
    BadBody,
    BadVariables,
    Placeholder,
    assemble,
    names,
    parse,
    render,
)
from engine.message_templates.placeholders import Piece

LIMIT = 1_000
name_strategy = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
text_strategy = st.text(min_size=1).filter(lambda t: "{{" not in t and not t.endswith("{"))
"""Text that cannot open a placeholder, even when one follows it."""
values_strategy = st.text(min_size=1, max_size=50).filter(
    lambda v: all(c == "\n" or (c >= " " and c != "\x7f") for c in v)
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[Piece, ...]:
    """Pieces as `parse` gives them: text and placeholders, no two texts in a row."""
    pieces: list[Piece] = []
    for _ in range(draw(st.integers(0, 8))):
        if (pieces and isinstance(pieces[-1], str)) or draw(st.booleans()):
            pieces.append(Placeholder(draw(name_strategy)))
        else:
            pieces.append(draw(text_strategy))
    return tuple(pieces)


def test_the_example_from_the_docs() -> None:
    pieces = parse("Your code is {{code}}. Valid {{minutes}} minutes.")
    assert pieces == (
        "Your code is ",
        Placeholder("code"),
        ". Valid ",
        Placeholder("minutes"),
        " minutes.",
    )
    text = render(pieces, {"code": "123456", "minutes": "5"}, LIMIT)
    assert text == "Your code is 123456. Valid 5 minutes."


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("Hi {{name", "character 4: {{ is not closed"),
        ("{{ name }}", "character 1: {{ name }} is not a placeholder"),
        ("{{Name}}", "character 1"),
        ("a {{user.name}}", "character 3"),
        ("{{__class__}}", "character 1"),
        ("{{}}", "character 1"),
        ("{{0code}}", "character 1"),
        ("{{" + "a" * 33 + "}}", "character 1"),
        ("{{{code}}}", "character 1"),
        ("{{code|upper}}", "character 1"),
    ],
)
def test_a_body_that_is_not_text_and_placeholders_is_refused_with_its_place(
    body: str, where: str
) -> None:
    with pytest.raises(BadBody, match=where.replace("{", r"\{").replace("}", r"\}")):
        parse(body)


def test_lone_braces_are_text() -> None:
    assert parse("{ a } }} {x}") == ("{ a } }} {x}",)
    assert parse("{{a}}}") == (Placeholder("a"), "}")


@given(bodies())
def test_pieces_round_trip_through_the_body(pieces: tuple[Piece, ...]) -> None:
    assert parse(assemble(pieces)) == pieces


@given(st.text())
def test_any_body_parses_back_to_itself_or_is_refused(body: str) -> None:
    try:
        pieces = parse(body)
    except BadBody:
        assert "{{" in body
    else:
        assert assemble(pieces) == body
        assert all(piece != "" for piece in pieces)


@given(bodies(), st.data())
def test_rendering_puts_each_value_in_verbatim(
    pieces: tuple[Piece, ...], data: st.DataObject
) -> None:
    """Values are never read as placeholders or code: a value full of braces,
    format fields and Jinja comes out as those very characters."""
    tricky = st.sampled_from(["{{code}}", "{0}", "{name!r}", "{{ 7*7 }}", "{% if %}", "%s"])
    variables = {name: data.draw(tricky | values_strategy) for name in names(pieces)}
    text = render(pieces, variables, LIMIT)
    expected = "".join(variables[p.name] if isinstance(p, Placeholder) else p for p in pieces)
    assert text == expected


@given(bodies().filter(lambda pieces: bool(names(pieces))), st.data())
def test_every_placeholder_must_be_given(pieces: tuple[Piece, ...], data: st.DataObject) -> None:
    wanted = names(pieces)
    left_out = data.draw(st.sets(st.sampled_from(wanted), min_size=1))
    variables = {name: "x" for name in wanted if name not in left_out}
    with pytest.raises(BadVariables) as refused:
        render(pieces, variables, LIMIT)
    assert set(refused.value.issues) == left_out
    assert all(why.startswith("missing") for why in refused.value.issues.values())


@given(bodies(), name_strategy)
def test_a_variable_the_template_does_not_have_is_refused(
    pieces: tuple[Piece, ...], extra: str
) -> None:
    variables = {name: "x" for name in names(pieces)}
    if extra in variables:
        return
    with pytest.raises(BadVariables) as refused:
        render(pieces, {**variables, extra: "x"}, LIMIT)
    assert refused.value.issues == {extra: "unknown: the template has no such placeholder"}


def test_every_fault_is_named_by_its_variable_at_once() -> None:
    pieces = parse("{{code}} {{minutes}} {{name}} {{who}}")
    with pytest.raises(BadVariables) as refused:
        render(pieces, {"code": "1" * 11, "minutes": "", "name": "a\x00b", "extra": "x"}, 10)
    assert refused.value.issues == {
        "code": "too long: at most 10 characters",
        "extra": "unknown: the template has no such placeholder",
        "minutes": "empty: give a value",
        "name": "control characters are not allowed (a line feed is)",
        "who": "missing: the template needs a value",
    }
    assert "variables.code: too long" in str(refused.value)


def test_names_come_once_in_order_of_first_appearance() -> None:
    assert names(parse("{{b}}{{a}} {{b}} {{c}}")) == ("b", "a", "c")
