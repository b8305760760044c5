"""XML-DSig of feed messages: an enveloped signature checked against the subscription's pin.

A subscription with a pinned certificate accepts only messages whose enveloped signature verifies
with that certificate's key (whatever certificate the signature itself carries); what is then read
is the signed content signxml returns, never the bytes around it (a wrapped or added element
outside the signature is not read).
"""

from cryptography import x509
from django.utils.translation import gettext as _
from lxml import etree
from signxml import SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
# Public-key signatures only (an HMAC proves nothing about the certificate), and no SHA-1.
_EXPECT = SignatureConfiguration(
    expect_references=1,
    signature_methods=frozenset(m for m in SignatureMethod if "HMAC" not in m.name and "SHA1" not in m.name),
)


class SignatureRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def certificate_check(pem: str) -> str:
    """The PEM text if it is one X.509 certificate; ValueError naming the problem otherwise."""
    try:
        x509.load_pem_x509_certificate(pem.strip().encode())
    except ValueError as error:
        raise ValueError(_("This is not a PEM X.509 certificate (-----BEGIN CERTIFICATE-----).")) from error
    return pem.strip() + "\n"


def signed_root(root: etree._Element, *, certificate_pem: str) -> etree._Element:
    """The signed `alert` element of `root`; SignatureRefused with the reason if it is unsigned or
    its signature does not verify with `certificate_pem`."""
    if root.find(f"{{{DSIG_NS}}}Signature") is None:
        raise SignatureRefused(_("unsigned: this feed's messages must carry an XML signature (enveloped)."))
    try:
        result = XMLVerifier().verify(root, x509_cert=certificate_pem, expect_config=_EXPECT)
    except InvalidSignature as error:
        raise SignatureRefused(
            _("the XML signature does not verify with the pinned certificate: %(reason)s") % {"reason": error}
        ) from error
    except InvalidInput as error:
        raise SignatureRefused(_("the XML signature cannot be read: %(reason)s") % {"reason": error}) from error
    signed = result.signed_xml if not isinstance(result, list) else None
    if signed is None or signed.tag != root.tag:
        raise SignatureRefused(_("the signature does not cover the whole alert (an enveloped signature is required)."))
    return signed
