"""The tenant's service levels: answer time in working days and task priority per topic."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select

from api.auth import Principal, require
from api.deps import SessionDep
from models.contacts import ServiceLevel
from models.tenancy import Role
from rules.contacts import DEFAULT_LEVELS

router = APIRouter(prefix="/v1/service-levels", tags=["customer center"])
Anyone = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]
Owner = Annotated[Principal, require(Role.CLIENT, Role.SUPERVISOR)]


class LevelView(BaseModel):
    topic: str
    working_days: int
    priority: int
    own: bool
    """Set by the tenant (otherwise the default)."""


class LevelIn(BaseModel):
    working_days: int = Field(ge=0, le=60)
    priority: int = Field(ge=1, le=5)


@router.get("", response_model=list[LevelView])
def list_levels(principal: Anyone, session: SessionDep) -> list[LevelView]:
    own = {
        row.topic: row
        for row in session.exec(select(ServiceLevel).where(ServiceLevel.tenant_id == principal.tenant_id)).all()
    }
    levels = [
        LevelView(topic=str(topic), working_days=level.working_days, priority=level.priority, own=False)
        for topic, level in DEFAULT_LEVELS.items()
        if str(topic) not in own
    ]
    levels += [LevelView(topic=t, working_days=r.working_days, priority=r.priority, own=True) for t, r in own.items()]
    return sorted(levels, key=lambda level: level.topic)


@router.put("/{topic}", response_model=LevelView)
def set_level(topic: str, level: LevelIn, principal: Owner, session: SessionDep) -> LevelView:
    """Contacts received from now on are held to this level."""
    if topic not in {str(t) for t in DEFAULT_LEVELS}:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no topic {topic!r}; topics: {', '.join(sorted(map(str, DEFAULT_LEVELS)))}"
        )
    session.execute(
        insert(ServiceLevel)
        .values(tenant_id=principal.tenant_id, topic=topic, **level.model_dump())
        .on_conflict_do_update(index_elements=["tenant_id", "topic"], set_=level.model_dump())
    )
    session.commit()
    return LevelView(topic=topic, **level.model_dump(), own=True)
