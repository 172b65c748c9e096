from django.apps import AppConfig


class Hl7Config(AppConfig):
    name = "care_plans.hl7"
    label = "hl7"
    verbose_name = "HL7 v2 intake"

    def ready(self):
        from calaim.accounts import roles

        # The plan's interface administrators register the hospitals' senders and
        # watch the feed; the raw messages are PHI, viewed only through the feed
        # pages (audited).
        roles.grant(
            roles.INTERFACE_ADMIN,
            "hl7.view_hl7sender",
            "hl7.add_hl7sender",
            "hl7.change_hl7sender",
            "hl7.view_inboundmessage",
            "hl7.view_raw_inboundmessage",
        )
        # A hospital's system sends ADT messages (scope hl7:write).
        roles.grant(roles.HOSPITAL_FEED, "hl7.add_inboundmessage")
