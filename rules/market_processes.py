"""Which Prüfidentifikatoren a supply-start process sends and which answers it expects (REFERENCE 2.1, 3)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Exchange:
    request: str
    confirmations: frozenset[str]
    rejections: frozenset[str]
    answer_hour: int | None
    """The answer is due by this hour of the 1st working day after sending (None: by its end)."""
    informations: frozenset[str] = frozenset()

    @property
    def answers(self) -> frozenset[str]:
        return self.confirmations | self.rejections | self.informations


REGISTRATION = {
    "strom": Exchange("55001", frozenset({"55002"}), frozenset({"55003"}), 11, frozenset({"55036"})),
    "gas": Exchange("44001", frozenset({"44002"}), frozenset({"44003"}), 11, frozenset({"44036"})),
}
CANCELLATION = {
    "strom": Exchange("55016", frozenset({"55017"}), frozenset({"55018"}), None),
    "gas": Exchange("44016", frozenset({"44017"}), frozenset({"44018"}), None),
}

DEREGISTRATION = {
    "strom": Exchange("55004", frozenset({"55005"}), frozenset({"55006"}), 6),
    "gas": Exchange("44004", frozenset({"44005"}), frozenset({"44006"}), 6),
}
"""Abmeldung (Lieferende vom LF an den NB): the grid operator answers by 06:00 of the 1st working day."""

MASTER_DATA = {
    "strom": Exchange("55109", frozenset({"55137"}), frozenset(), None),
}
"""Änderung Daten der MaLo (LF an NB): the customer's name and correspondence address; the grid operator answers
with 55137. Gas has no verified counterpart here: a clerk informs the grid operator."""


def exchange(kind: str, division: str) -> Exchange:
    table = {
        "registration": REGISTRATION,
        "cancellation": CANCELLATION,
        "deregistration": DEREGISTRATION,
        "master_data": MASTER_DATA,
    }[kind]
    return table[division]


FINAL_ANSWERS = frozenset().union(
    *(
        e.confirmations | e.rejections
        for e in (*REGISTRATION.values(), *CANCELLATION.values(), *DEREGISTRATION.values())
    )
)
"""Answers that settle a request (information messages such as 55036 do not)."""

ASSOCIATION = {"strom": "S2.1", "gas": "G1.1"}
NAD_CODE_LIST = {"strom": "293", "gas": "332"}
UNB_QUALIFIER = {"strom": "500", "gas": "502"}


@dataclass(frozen=True)
class PartnerRequest:
    """A request a market partner sends us, the answers we may give, and the process that handles it."""

    process: str
    confirmation: str | None
    rejection: str | None


PARTNER_REQUESTS = {
    # a new supplier cancels our customer's contract (we are the old supplier)
    "55016": PartnerRequest("incoming_cancellation", "55017", "55018"),
    "44016": PartnerRequest("incoming_cancellation", "44017", "44018"),
    # the grid operator asks us (old supplier) to end our assignment; no answer counts as confirmation
    "55010": PartnerRequest("termination_request", "55011", "55012"),
    "44010": PartnerRequest("termination_request", "44011", "44012"),
    # the grid operator announces the end of our supply
    "55007": PartnerRequest("grid_supply_end", "55008", "55009"),
    "44007": PartnerRequest("grid_supply_end", "44008", "44009"),
    # the grid operator ended our assignment (information, not answered)
    "55037": PartnerRequest("assignment_ended", None, None),
    "44037": PartnerRequest("assignment_ended", None, None),
}
"""Partner-initiated UTILMD that start or move on a process of ours (REFERENCE 2.1, 2.2, 3)."""


SUPPLIER_RECEIVES = frozenset(
    {
        # UTILMD Strom (REFERENCE 2.1): answers to our requests, requests to us as old supplier, master data
        *("55002", "55003", "55005", "55006", "55007", "55010", "55013", "55016", "55017", "55018"),
        *("55022", "55023", "55024", "55035", "55036", "55037", "55038", "55078", "55080", "55095"),
        *("55126", "55137", "55218", "55602", "55603", "55604", "55605"),
        *("55615", "55616", "55617", "55618", "55619", "55620"),
        # UTILMD Gas (REFERENCE 3)
        *("44002", "44003", "44005", "44006", "44007", "44010", "44013", "44016", "44017", "44018"),
        *("44019", "44020", "44022", "44023", "44024", "44036", "44037", "44038", "44103", "44104"),
    }
)
"""UTILMD Prüfidentifikatoren a supplier processes; any other is answered with APERAK Z31."""
