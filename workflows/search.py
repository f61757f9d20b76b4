"""Custom search attributes that let operators find any case in the Temporal UI."""

from temporalio.common import SearchAttributeKey

TENANT = SearchAttributeKey.for_keyword("BpoTenant")
CUSTOMER_NUMBER = SearchAttributeKey.for_keyword("BpoCustomerNumber")
MALO = SearchAttributeKey.for_keyword("BpoMaLo")
PROCESS_STATE = SearchAttributeKey.for_keyword("BpoProcessState")
CLEARING_REASON = SearchAttributeKey.for_keyword("BpoClearingReason")
WAITING_FOR = SearchAttributeKey.for_keyword("BpoWaitingFor")
"""What a process waits for and until when, e.g. "the final reading from the metering operator until ..."."""

ALL = (TENANT, CUSTOMER_NUMBER, MALO, PROCESS_STATE, CLEARING_REASON, WAITING_FOR)
