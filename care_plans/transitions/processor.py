"""The ADT processor the HL7 intake calls for every stored ADT message."""

from care_plans.hl7.registry import register_processor
from care_plans.transitions.services import transition_process


@register_processor("ADT")
def process_adt(message) -> str:
    """Turn one stored ADT message into a transition event (services.py)."""
    return transition_process(message=message)
