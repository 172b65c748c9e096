"""HL7 v2 intake: models."""
