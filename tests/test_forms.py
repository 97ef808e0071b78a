"""`comcep.forms.Select` writes the same options as WTForms' own select, escaping included:
it only takes a faster path to them."""

from __future__ import annotations

import pytest
from wtforms import Form, SelectField, widgets
from wtforms.fields.choices import SelectChoice

from comcep.forms import Select

TRICKY = [
    SelectChoice("", "Toutes les rubriques"),
    SelectChoice("vie-pro", "— Vie professionnelle & « cas »"),
    SelectChoice('a"b', "<script>alert('x')</script>"),
    SelectChoice("x<y>&z", ""),  # an empty label shows the value
    SelectChoice("7", "Sept"),
    SelectChoice("attr", "Avec attribut", render_kw={"data-kind": "t", "disabled": True}),
]


def _render(widget: widgets.Select, data: str | None, **kwargs: object) -> str:
    class OneSelect(Form):
        choice = SelectField("Choix", choices=TRICKY, validate_choice=False, widget=widget)

    form = OneSelect(data={"choice": data} if data is not None else None)
    return str(form.choice(**kwargs))


@pytest.mark.parametrize("data", [None, "", "vie-pro", 'a"b', "x<y>&z", "attr"])
def test_the_select_writes_wtforms_own_html(data: str | None) -> None:
    ours = _render(Select(), data)

    assert ours == _render(widgets.Select(), data)
    assert "<script>" not in ours
    assert "&lt;script&gt;" in ours


def test_options_given_attributes_at_rendering_take_wtforms_path() -> None:
    class Marked(Select):
        @classmethod
        def render_option(cls, choice, **kwargs):  # noqa: ANN001, ANN206
            return super().render_option(choice, **{"class": "opt", **kwargs})

    expected = _render(widgets.Select(), "7").replace("<option ", '<option class="opt" ')

    assert _render(Marked(), "7") == expected
