"""libxml2's schema messages, told as what to fix: the element's path, the value, what is allowed.

libxml2 reports CAP schema errors in XSD terms ("[facet 'pattern'] The value … is not accepted by
the pattern '\\d\\d\\d\\d-…'", "… is not a valid value of the local atomic type", "This element is not
expected. Expected is one of ( {urn:…}source, {urn:…}scope )"). The person fixing the file needs
the element (as a path: `alert/info[2]/urgency`), the value they wrote and what the element takes,
in their language. Messages we do not recognise are passed on with the namespace removed.
"""

import re

from django.utils.translation import gettext as _
from lxml import etree

_NS = re.compile(r"\{[^}]*\}")
_ELEMENT = re.compile(r"^Element '([^']+)'(?:, attribute '[^']+')?: ")
_ENUMERATION = re.compile(r"\[facet 'enumeration'\] The value '(.*)' is not an element of the set \{(.*)\}")
_PATTERN = re.compile(r"\[facet 'pattern'\] The value '(.*)' is not accepted by the pattern")
_ATOMIC = re.compile(r"'(.*)' is not a valid value of the (?:local )?(?:atomic|union|list) type(?: '([^']+)')?")
_NOT_EXPECTED = re.compile(r"This element is not expected\.(?: Expected is(?: one of)? \( (.*) \))?")
_MISSING = re.compile(r"Missing child element\(s\)\. Expected is(?: one of)? \( (.*) \)")
_TIMES = {"sent", "effective", "onset", "expires"}
_EXAMPLE_TIME = "2026-06-17T14:57:00+08:00"


def element_path(root: etree._Element, xpath: str | None) -> str:
    """`alert/info[2]/urgency` for libxml's `/*/*[9]/*[3]` (an index only where a name repeats)."""
    if not xpath:
        return ""
    try:
        found = root.getroottree().xpath(xpath)
    except etree.XPathError:
        return ""
    if not found or not isinstance(found[0], etree._Element):
        return ""
    steps: list[str] = []
    element: etree._Element | None = found[0]
    while element is not None:
        name = etree.QName(element).localname
        parent = element.getparent()
        if parent is not None:
            same = [child for child in parent if isinstance(child.tag, str) and child.tag == element.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(element) + 1}]"
        steps.append(name)
        element = parent
    return "/".join(reversed(steps))


def _type_text(type_name: str | None, element: str) -> str:
    if element in _TIMES or (type_name or "").endswith("dateTime"):
        return _("a date and time with its UTC offset and no fractions of a second, e.g. %(example)s") % {
            "example": _EXAMPLE_TIME
        }
    described = {
        "integer": _("a whole number"),
        "decimal": _("a number"),
        "anyURI": _("a URI"),
        "base64Binary": _("base64 data"),
        "language": _("a language tag such as zh-CN or en-US"),
    }
    key = (type_name or "").split(":")[-1]
    return described.get(key, _("a value of the form the CAP 1.2 specification gives for it"))


def _names(listing: str) -> str:
    return ", ".join(_NS.sub("", name).strip() for name in listing.split(","))


def schema_problem(root: etree._Element, entry: etree._LogEntry) -> str:
    """One schema error as what to fix (translated), naming the element path and the value."""
    message = entry.message
    match = _ELEMENT.match(message)
    element = _NS.sub("", match.group(1)) if match else ""
    rest = message[match.end() :] if match else message
    path = element_path(root, entry.path) or element
    if found := _ENUMERATION.search(rest):
        allowed = ", ".join(value.strip().strip("'") for value in found.group(2).split(","))
        return _("%(path)s: “%(value)s” is not allowed; write one of %(allowed)s.") % {
            "path": path,
            "value": found.group(1),
            "allowed": allowed,
        }
    if found := _PATTERN.search(rest):
        return _("%(path)s: “%(value)s” is not allowed; write %(what)s.") % {
            "path": path,
            "value": found.group(1),
            "what": _type_text(None, element),
        }
    if found := _ATOMIC.search(rest):
        return _("%(path)s: “%(value)s” is not allowed; write %(what)s.") % {
            "path": path,
            "value": found.group(1),
            "what": _type_text(found.group(2), element),
        }
    if found := _NOT_EXPECTED.match(rest):
        if found.group(1):
            return _(
                "%(path)s: the element “%(element)s” is not allowed here; at this place CAP 1.2 expects %(expected)s (check the order and spelling of the elements)."
            ) % {
                "path": path,
                "element": element,
                "expected": _names(found.group(1)),
            }
        return _("%(path)s: the element “%(element)s” is not allowed here (nothing more may follow at this place).") % {
            "path": path,
            "element": element,
        }
    if found := _MISSING.match(rest):
        return _("%(path)s: a required element is missing; add %(expected)s.") % {
            "path": path,
            "expected": _names(found.group(1)),
        }
    return f"{path}: {_NS.sub('', rest).rstrip('.')}" if path else _NS.sub("", message).rstrip(".")
