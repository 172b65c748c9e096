"""calaim.web.stack and the template backend that renders on a fresh chunk."""

import resource

import pytest
from django.template import TemplateDoesNotExist, engines
from django.template.loader import get_template

from calaim.web.stack import _filler, on_fresh_chunk
from calaim.web.templates import Template


def test_calls_through_with_arguments_and_exceptions():
    assert on_fresh_chunk(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(KeyError):
        on_fresh_chunk({}.__getitem__, "missing")


def test_the_filler_frame_takes_most_of_a_chunk():
    # 16 KiB chunks, 8-byte slots: what is left after it is too little for a
    # render, which therefore starts on a chunk of its own.
    assert 14 * 1024 <= _filler.__code__.co_nlocals * 8 < 16 * 1024


def test_pages_render_through_it_the_same():
    template = get_template("registration/login.html")
    assert isinstance(template, Template)
    assert engines["django"].from_string("{{ a|add:b }}").render({"a": 1, "b": 2}) == (
        "3"
    )
    with pytest.raises(TemplateDoesNotExist):
        get_template("no/such/template.html")


def _nested(depth, func):
    return func() if depth == 0 else _nested(depth - 1, func)


def test_a_deep_render_does_not_fault_in_stack_chunks_again_and_again():
    """The same recursion-heavy render, started at many stack depths: on a
    fresh chunk it never pays more than a handful of page faults."""
    source = (
        "{% for i in items %}{% if i %}{% with j=i %}{{ j }}{% endwith %}"
        "{% endif %}{% endfor %}"
    )
    template = engines["django"].from_string(source)
    context = {"items": list(range(2000))}
    template.render(context)
    worst = 0
    for depth in range(0, 200, 5):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        _nested(depth, lambda: template.render(context))
        worst = max(worst, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert worst < 40
