"""The market-partner directory: partners with their communication data over time, imported from CSV, and the
check that our own requests go out only to partners we can reach on the send day."""

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, or_, select

from models.base import utcnow
from models.documents import Document
from models.messages import MarketMessage
from models.parties import FrameworkContract, MarketPartner, PartnerCommunication, PartnerRole
from rules.ids import validate_iban, validate_market_partner_id

CHANNELS = ("as4", "email", "drop")
COLUMNS = (
    "partner_id",
    "name",
    "role",
    "division",
    "valid_from",
    "channel",
    "address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "iban",
    "bic",
)


class NoCommunicationData(ValueError):
    """The receiver has no communication data valid on the send day; the message waits in clearing."""


class DirectoryError(ValueError):
    """A directory file that cannot be taken (the line and why); nothing of it is imported."""


def communication_on(session: Session, partner_id: str, day: date) -> PartnerCommunication | None:
    return session.exec(
        select(PartnerCommunication)
        .where(
            PartnerCommunication.partner_id == partner_id,
            col(PartnerCommunication.valid_from) <= day,
            or_(col(PartnerCommunication.valid_until).is_(None), col(PartnerCommunication.valid_until) > day),
        )
        .order_by(col(PartnerCommunication.valid_from).desc())
    ).first()


def check_route(session: Session, message: MarketMessage, day: date) -> PartnerCommunication:
    """The way to the message's receiver on ``day``; without one the message goes to clearing (state and error
    set, to be committed by the caller) and NoCommunicationData is raised."""
    assert message.receiver is not None
    route = communication_on(session, message.receiver, day)
    if route is None:
        problem = f"no communication data of {message.receiver} valid on {day}: add it to the partner directory"
        message.state, message.error = "clearing", problem
        session.add(message)
        session.flush()
        raise NoCommunicationData(problem)
    if message.error and message.error.startswith("no communication data"):
        message.error = None
        session.add(message)
    return route


@dataclass
class Imported:
    partners: int
    communications: int


def import_directory(session: Session, content: str) -> Imported:
    """Partners and their communication data from CSV (``;`` or ``,``, with a header naming the columns of
    ``COLUMNS``; ``partner_id`` and ``name`` and ``role`` required). A partner is created or updated; a line with
    ``valid_from`` and ``channel`` adds (or replaces) the communication data from that day. All lines or none."""
    if not content.strip():
        raise DirectoryError("the file is empty")
    first = content.lstrip().split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(content.lstrip()), delimiter=";" if ";" in first else ",")
    unknown = set(reader.fieldnames or []) - set(COLUMNS)
    if unknown or not {"partner_id", "name", "role"} <= set(reader.fieldnames or []):
        raise DirectoryError(f"the header must name partner_id, name, role and may name {', '.join(COLUMNS[3:])}")
    present = set(reader.fieldnames or [])
    partners, communications = {}, []
    for number, row in enumerate(reader, start=2):
        fields = {k: (v or "").strip() for k, v in row.items() if k}
        try:
            partner_id = validate_market_partner_id(fields["partner_id"])
            role = PartnerRole(fields["role"]).value
            iban = validate_iban(fields["iban"]) if fields.get("iban") else ""
            if fields.get("division") and fields["division"] not in ("strom", "gas"):
                raise ValueError(f"division must be strom or gas, not {fields['division']!r}")
            optional = {"division": fields.get("division") or None, "iban": iban, "bic": fields.get("bic", "")}
            partners[partner_id] = {"id": partner_id, "name": fields["name"] or partner_id, "role": role} | {
                k: v for k, v in optional.items() if k in present
            }
            if fields.get("channel") or fields.get("valid_from"):
                if fields.get("channel") not in CHANNELS:
                    raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
                if not fields.get("address"):
                    raise ValueError("a channel needs its address")
                communications.append(
                    {
                        "partner_id": partner_id,
                        "valid_from": date.fromisoformat(fields.get("valid_from", "")),
                        "channel": fields["channel"],
                        "address": fields["address"],
                        "contact_name": fields.get("contact_name", ""),
                        "contact_email": fields.get("contact_email", ""),
                        "contact_phone": fields.get("contact_phone", ""),
                        "created_at": utcnow(),
                    }
                )
        except (ValueError, KeyError) as error:
            raise DirectoryError(f"line {number}: {error}") from error
    for values in partners.values():
        statement = insert(MarketPartner).values(**values, created_at=utcnow())
        updated = {k: statement.excluded[k] for k in values if k != "id"}
        session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updated))
    for values in communications:
        statement = insert(PartnerCommunication).values(**values)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["partner_id", "valid_from"],
                set_={
                    k: statement.excluded[k]
                    for k in ("channel", "address", "contact_name", "contact_email", "contact_phone")
                },
            )
        )
    session.flush()
    return Imported(partners=len(partners), communications=len(communications))


FRAMEWORK_KINDS = ("grid_usage", "metering", "other")


def archive_framework_contract(
    session: Session,
    tenant_id: str,
    partner_id: str,
    kind: str,
    valid_from: date,
    valid_until: date | None,
    content: bytes,
    media_type: str,
) -> FrameworkContract:
    """Archive a contract with a partner (e.g. the Netznutzungsrahmenvertrag) as a document; once per partner,
    kind and start."""
    if session.get(MarketPartner, partner_id) is None:
        raise DirectoryError(f"{partner_id} is not in the directory")
    if kind not in FRAMEWORK_KINDS:
        raise DirectoryError(f"kind must be one of {', '.join(FRAMEWORK_KINDS)}")
    if valid_until is not None and valid_until <= valid_from:
        raise DirectoryError("the contract must end after it starts")
    if not content:
        raise DirectoryError("the file is empty")
    key = f"framework-contract:{tenant_id}:{partner_id}:{kind}:{valid_from}"
    session.execute(
        insert(Document)
        .values(
            tenant_id=tenant_id,
            business_key=key,
            kind="framework_contract",
            media_type=media_type,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["business_key"])
    )
    document_id = session.exec(select(Document.id).where(Document.business_key == key)).one()
    existing = session.exec(
        select(FrameworkContract).where(
            FrameworkContract.tenant_id == tenant_id,
            FrameworkContract.partner_id == partner_id,
            FrameworkContract.kind == kind,
            FrameworkContract.valid_from == valid_from,
        )
    ).first()
    contract = existing or FrameworkContract(
        tenant_id=tenant_id, partner_id=partner_id, kind=kind, valid_from=valid_from, document_id=document_id or 0
    )
    contract.valid_until = valid_until
    session.add(contract)
    session.flush()
    return contract


def framework_contract_on(
    session: Session, tenant_id: str, partner_id: str, kind: str, day: date
) -> FrameworkContract | None:
    return session.exec(
        select(FrameworkContract)
        .where(
            FrameworkContract.tenant_id == tenant_id,
            FrameworkContract.partner_id == partner_id,
            FrameworkContract.kind == kind,
            col(FrameworkContract.valid_from) <= day,
            or_(col(FrameworkContract.valid_until).is_(None), col(FrameworkContract.valid_until) > day),
        )
        .order_by(col(FrameworkContract.valid_from).desc())
    ).first()
