"""POST /api/v1/hl7/adt: a hospital's system sends one HL7 v2 message over HTTPS.

The body is the message in ER7 (text/plain or application/hl7-v2); the answer is
HTTP 200 carrying the ACK (AA, AE or AR) as application/hl7-v2, exactly what the
MLLP listener would send. Only a body without a readable MSH segment is a 400,
since then there is nothing to acknowledge.
"""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.views import APIView

from calaim.accounts import roles
from calaim.api.permissions import RequiresScope
from calaim.audit.models import AuditAction
from calaim.audit.services import audit_record
from care_plans.hl7 import er7, services
from care_plans.hl7.models import Channel

ACK_MEDIA_TYPE = "application/hl7-v2"


class ER7Parser(BaseParser):
    """The body as bytes, as sent: decoded and read by the intake service."""

    media_type = "application/hl7-v2"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, "HL7_MAX_MESSAGE_BYTES", 1024 * 1024)
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise TooLarge
        return data


class PlainTextER7Parser(ER7Parser):
    media_type = "text/plain"


class ER7PlusParser(ER7Parser):
    media_type = "x-application/hl7-v2+er7"


class TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The message is larger than allowed."
    default_code = "too_large"


class NoReadableHeader(exceptions.ParseError):
    default_detail = "The body has no readable MSH segment."
    default_code = "no_msh"


EXAMPLE = (
    "MSH|^~\\&|EPIC|MERCY_BAY|CALAIM|PLAN|20261130101500||ADT^A01^ADT_A01|"
    "MSG00001|P|2.5.1\rEVN|A01|20261130101500\rPID|1||91234567A^^^DHCS^MA||"
    "DOE^JANE||19800517|F\rPV1|1|I|4W^401^1||||||||||||||||V0001\r"
)


class AdtIntake(APIView):
    """Receive one ADT message; answer its ACK."""

    permission_classes = [RequiresScope("hl7:write", roles=[roles.HOSPITAL_FEED])]
    parser_classes = [ER7Parser, PlainTextER7Parser, ER7PlusParser]

    @extend_schema(
        operation_id="hl7_adt_receive",
        summary="Send an HL7 v2 ADT message",
        tags=["HL7"],
        request={ACK_MEDIA_TYPE: str, "text/plain": str},
        examples=[OpenApiExample("ADT^A01", value=EXAMPLE, request_only=True)],
        responses={
            (200, ACK_MEDIA_TYPE): OpenApiResponse(
                str,
                description="The ACK: MSA-1 AA (stored, or a duplicate), AE (not "
                "accepted: ERR says why) or AR (unknown sender, not ADT).",
            ),
            400: OpenApiResponse(description="No readable MSH segment."),
            413: OpenApiResponse(description="The message is too large."),
        },
    )
    def post(self, request):
        data = request.data
        if not isinstance(data, bytes) or not data:
            raise NoReadableHeader
        try:
            receipt = services.message_receive(
                data=data,
                channel=Channel.HTTP,
                peer=request.META.get("REMOTE_ADDR", ""),
                organization=request.user.organization,
            )
        except er7.NoHeader as error:
            raise NoReadableHeader(str(error)) from None
        if receipt.message is not None:
            # Receiving a message is a write of PHI by the sender's system.
            audit_record(
                action=AuditAction.CREATE,
                object_type="hl7_message",
                object_id=str(receipt.message.uuid),
            )
        return HttpResponse(
            receipt.ack, content_type=f"{ACK_MEDIA_TYPE}; charset=utf-8"
        )
