"""Pure domain: models, the SLA policy, the working calendar, the case state machine.

Imports nothing from the other layers and does no I/O beyond reading the policy file.
"""
