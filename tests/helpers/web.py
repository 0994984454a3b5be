"""Reading the HTML pages in tests: a small parser of the elements the tests look at."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Intakes the page tests and the browser tests fill in (form field name -> value).
EMERGENCY = {"foot_cold_pale_or_blue": "yes"}
FRACTURE = {
    "onset": "injury",
    "pain_location": "midfoot",
    "tender_5th_mt_base": "yes",
    "steps_immediately": "2",
    "steps_now": "2",
}
SELF_CARE = {
    "age_years": "30",
    "diabetes": "no",
    "neuropathy": "no",
    "pad": "no",
    "fever": "no",
    "systemically_unwell": "no",
    "foot_cold_pale_or_blue": "no",
    "sudden_numbness_or_weakness": "no",
    "redness_spreading_rapidly": "no",
    "black_or_dead_tissue": "no",
    "hot_swollen_joint": "no",
    "wound_or_ulcer": "no",
    "onset": "gradual",
    "pain_location": "ball_of_foot",
    "pain_nrs": "2",
    "steps_now": "4",
    "tender_5th_mt_base": "no",
    "tender_navicular": "no",
    "tender_metatarsal_point": "no",
}
# A child with the same mild ache: self-care level, a doctor who sees children, review (PED1).
CHILD = {**SELF_CARE, "age_years": "9"}
# A child whose pain wakes them at night: within 48 hours, in person (PED3 with PED1).
CHILD_NIGHT_PAIN = {**CHILD, "pain_at_rest_or_night": "yes"}


@dataclass
class Element:
    """One start tag: its name, attributes, and the label or fieldset it sits in."""

    tag: str
    attrs: dict[str, str]
    in_label: bool = False
    legends: list[str] = field(default_factory=list)
    form: str = ""  # the id of the form it sits in


class PageParser(HTMLParser):
    """Collects elements, label targets, fieldset legends and script bodies of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.label_for: set[str] = set()
        self.legends: list[str] = []
        self.script_text: list[str] = []
        self._stack: list[str] = []
        self._legend: list[str] | None = None
        self._fieldsets: list[list[str]] = []
        self._form = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = values.get("id", "")
        self.elements.append(
            Element(
                tag,
                values,
                "label" in self._stack,
                [f[0] for f in self._fieldsets if f],
                self._form,
            )
        )
        if tag == "label" and "for" in values:
            self.label_for.add(values["for"])
        if tag == "fieldset":
            self._fieldsets.append([])
        if tag == "legend":
            self._legend = []
        if tag not in {"input", "meta", "link", "br", "img"}:
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "legend" and self._legend is not None:
            text = " ".join("".join(self._legend).split())
            self.legends.append(text)
            if self._fieldsets:
                self._fieldsets[-1].append(text)
            self._legend = None
        if tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        if tag == "form":
            self._form = ""
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._legend is not None:
            self._legend.append(data)
        if self._stack and self._stack[-1] == "script" and data.strip():
            self.script_text.append(data)


def parse(html: str) -> PageParser:
    """The page, parsed."""
    parser = PageParser()
    parser.feed(html)
    return parser


def carried_fields(page: PageParser) -> list[tuple[str, str]]:
    """The hidden fields of an interview page's form: the answers so far, the screens, the
    shown ones, the language (the language switch's form carries them too)."""
    return [
        (element.attrs["name"], element.attrs.get("value", ""))
        for element in page.elements
        if element.tag == "input"
        and element.attrs.get("type") == "hidden"
        and element.form == "interview"
    ]


def shown_questions(page: PageParser) -> list[str]:
    """The questions of an interview screen, in order; [] on the result page."""
    shown = [value for name, value in carried_fields(page) if name == "shown"]
    return shown[0].split() if shown else []
